"""The `math` verifier: final-answer extraction, then equivalence through math-verify in the worker pool."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from verifiers.base import PooledVerifier, short
from verifiers.math.bounds import MAX_REFERENCE_NESTING, nesting_depth, too_complex
from verifiers.math.extract import PRESETS, STRATEGIES, Extraction, extract_answer
from verifiers.options import PoolOptions, parse_strategies
from verifiers.result import Judgement, Reason

__all__ = ["MathOptions", "MathVerifier", "extract_answer", "Extraction"]


@dataclass
class MathOptions(PoolOptions):
    """Options of the math verifier (plus shaping and pool options, see `PoolOptions`).

    extract:           a preset, `default` (boxed,answer_is,last_math: math-verify's semantics) or
                       `strict` (boxed only: the format is part of the reward), or a comma-separated
                       list of strategies tried in order: boxed, answer_is, last_math, last_number
                       (see verifiers/math/extract.py).
    max_answer_chars:  longer extracted answers are `unparseable` unseen (bounds sympy's work); so are
                       answers nesting brackets deeper than `bounds.MAX_NESTING` (8).
    float_rounding, numeric_precision, strict: passed to math_verify.verify.
    Only a \\boxed answer counts as `formatted` (earns score_format).
    """

    extract: str = "default"
    max_answer_chars: int = 1000
    float_rounding: int = 6
    numeric_precision: int = 15
    strict: bool = True

    def strategies(self) -> tuple[str, ...]:
        preset = PRESETS.get(self.extract.strip())
        if preset:
            return preset
        try:
            return parse_strategies(self.extract, STRATEGIES)
        except ValueError as exc:
            raise ValueError(f"{exc}, or a preset: {', '.join(PRESETS)}") from None

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
        refused = too_complex(found.answer, max_chars=opts.max_answer_chars)  # all parts together
        if refused:
            return Judgement(Reason.UNPARSEABLE, refused, formatted)
        depth = nesting_depth(reference)
        if depth > MAX_REFERENCE_NESTING:
            return Judgement(
                Reason.ERROR, f"reference nests brackets {depth} deep; the limit is {MAX_REFERENCE_NESTING}"
            )
        from verifiers.math.equivalence import compare  # heavy (sympy): only where judging happens

        # Several parts (boxes, "3 or 4") are compared as one set: hedging between answers for a
        # single-valued gold is never right, all solutions of a set-valued gold are.
        cmp = compare(
            reference,
            found.parts,
            float_rounding=opts.float_rounding,
            numeric_precision=opts.numeric_precision,
            strict=opts.strict,
        )
        if not cmp.reference_parsed:
            return Judgement(
                Reason.ERROR, f"reference {short(reference, 60)!r} could not be parsed", formatted
            )
        if cmp.equal:
            return Judgement(Reason.OK, f"{found.strategy}: {short(found.answer, 60)}", formatted)
        if not cmp.answer_is_math:
            return Judgement(
                Reason.UNPARSEABLE,
                f"{found.strategy}: {short(found.answer, 60)!r} is not parseable math",
                formatted,
            )
        return Judgement(Reason.WRONG, f"{found.strategy}: {short(found.answer, 60)}", formatted)
