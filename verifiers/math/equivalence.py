"""Equivalence of two answers through math-verify. Runs only inside a pool worker.

math-verify's own timeouts use signal.alarm, which raises off the main thread (this once scored every
answer 0 inside Ray workers); they are turned off here (`parsing_timeout=None`, `timeout_seconds=None`)
and time is bounded by the pool killing the worker instead.

Only math-verify's LaTeX extraction is used: its plain-expression extraction goes through sympy's
`parse_expr`, which `eval`s the text; model output never reaches it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

from math_verify import LatexExtractionConfig, parse, verify
from sympy import Basic, MatrixBase

# math-verify warns once per process that its timeouts are off; that is deliberate here.
logging.getLogger("math_verify").setLevel(logging.ERROR)

_CONFIG = (LatexExtractionConfig(boxed_match_priority=0),)


def _as_latex(answer: str) -> str:
    # Wrap a bare answer in $...$ so the LaTeX extractor sees one expression; stray $ would split it.
    return "$" + answer.replace("\\$", "").replace("$", "") + "$"


def parse_answer(answer: str) -> list:
    """math-verify's parse of one bare answer: sympy objects and/or the raw string."""
    return parse(_as_latex(answer), extraction_config=_CONFIG, parsing_timeout=None)


@lru_cache(maxsize=1024)
def parse_reference(reference: str) -> tuple:
    """References repeat across a group of samples: parse each once per worker."""
    text = reference if "\\boxed" in reference else _as_latex(reference)
    return tuple(parse(text, extraction_config=_CONFIG, parsing_timeout=None))


@dataclass(frozen=True)
class Comparison:
    equal: bool
    reference_parsed: bool  # math-verify got anything (sympy or string) from the reference
    answer_is_math: bool  # the answer parsed to a sympy object (not just a string)


def compare(reference: str, answer: str, *, float_rounding: int, numeric_precision: int, strict: bool) -> Comparison:
    """Gold first: math-verify's `verify` is not symmetric and expects the reference as first argument."""
    gold = list(parse_reference(reference))
    if not gold:
        return Comparison(False, False, False)
    pred = parse_answer(answer)
    equal = bool(
        pred
        and verify(
            gold,
            pred,
            float_rounding=float_rounding,
            numeric_precision=numeric_precision,
            strict=strict,
            timeout_seconds=None,
        )
    )
    return Comparison(equal, True, any(isinstance(p, Basic | MatrixBase) for p in pred))
