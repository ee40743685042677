"""The `math` verifier: final-answer extraction, then equivalence through math-verify in the worker pool."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from verifiers.base import PooledVerifier, short
from verifiers.math.extract import STRATEGIES, Extraction, extract_answer
from verifiers.options import PoolOptions, parse_strategies
from verifiers.result import Judgement, Reason

__all__ = ["MathOptions", "MathVerifier", "extract_answer", "Extraction"]


@dataclass
class MathOptions(PoolOptions):
    """Options of the math verifier (plus shaping and pool options, see `PoolOptions`).

    extract:           comma-separated strategies tried in order: boxed, answer_is, last_number.
                       Lenient "boxed,answer_is,last_number" suits small models that rarely box.
    max_answer_chars:  longer extracted answers are `unparseable` unseen (bounds sympy's work).
    float_rounding, numeric_precision, strict: passed to math_verify.verify.
    Only a \\boxed answer counts as `formatted` (earns score_format).
    """

    extract: str = "boxed,answer_is"
    max_answer_chars: int = 1000
    float_rounding: int = 6
    numeric_precision: int = 15
    strict: bool = True

    def strategies(self) -> tuple[str, ...]:
        return parse_strategies(self.extract, STRATEGIES)

    def validate(self) -> None:
        super().validate()
        self.strategies()
        if self.max_answer_chars < 1:
            raise ValueError(f"max_answer_chars must be >= 1, got {self.max_answer_chars}")


class MathVerifier(PooledVerifier):
    """Reference: the gold answer (bare LaTeX such as `\\frac{1}{2}`, or text containing `\\boxed{}`)."""

    name: ClassVar[str] = "math"
    Options: ClassVar[type] = MathOptions
    worker_preload: ClassVar[tuple[str, ...]] = ("verifiers.math.equivalence",)

    def judge(self, response: str, reference: str, metadata: Mapping[str, Any]) -> Judgement:
        opts: MathOptions = self.options  # type: ignore[assignment]
        found = extract_answer(response, opts.strategies())
        if found is None:
            return Judgement(Reason.UNPARSEABLE, f"no answer found (tried {opts.extract})")
        formatted = found.strategy == "boxed"
        if found.distinct_boxes > 1:
            # Boxing several candidates must not pay off, even if one of them is right.
            return Judgement(Reason.WRONG, f"{found.distinct_boxes} different boxed answers")
        if len(found.answer) > opts.max_answer_chars:
            return Judgement(Reason.UNPARSEABLE, f"answer has {len(found.answer)} characters; max_answer_chars is {opts.max_answer_chars}", formatted)
        from verifiers.math.equivalence import compare  # heavy (sympy): only where judging happens

        cmp = compare(reference, found.answer, float_rounding=opts.float_rounding,
                      numeric_precision=opts.numeric_precision, strict=opts.strict)
        if not cmp.reference_parsed:
            return Judgement(Reason.ERROR, f"reference {short(reference, 60)!r} could not be parsed", formatted)
        if cmp.equal:
            return Judgement(Reason.OK, f"{found.strategy}: {short(found.answer, 60)}", formatted)
        if not cmp.answer_is_math:
            return Judgement(Reason.UNPARSEABLE, f"{found.strategy}: {short(found.answer, 60)!r} is not parseable math", formatted)
        return Judgement(Reason.WRONG, f"{found.strategy}: {short(found.answer, 60)}", formatted)
