"""Equivalence of two answers through math-verify. Runs only inside a pool worker.

math-verify's own timeouts use signal.alarm, which raises off the main thread (this once scored every
answer 0 inside Ray workers); they are turned off here (`parsing_timeout=None`, `timeout_seconds=None`)
and time is bounded by the pool killing the worker instead.

Model output only ever reaches math-verify's LaTeX parser: its plain-expression extraction goes through
sympy's `parse_expr`, which `eval`s the text. The gold answer is trusted, so when the LaTeX parser gets
nothing from it (`x**2 + 1`) and it is plain math (see `_PLAIN_EXPRESSION`), sympy's parser reads it.

Both sides pass through `numbers.normalize_numbers` first (thousands separators), and importing
`antlr_compat` makes percentages parse under the ANTLR 4.9.3 runtime that Hydra pins.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache

from latex2sympy2_extended.sets import FiniteSet
from math_verify import LatexExtractionConfig, parse, verify
from sympy import Basic, MatrixBase, Symbol
from sympy.parsing.sympy_parser import parse_expr

from verifiers.math import antlr_compat  # noqa: F401  (patches the parser on import; see its docstring)
from verifiers.math.numbers import normalize_numbers

# math-verify warns once per process that its timeouts are off; that is deliberate here.
logging.getLogger("math_verify").setLevel(logging.ERROR)

_CONFIG = (LatexExtractionConfig(boxed_match_priority=0),)
# A gold written as a plain expression (`2*sqrt(3)`, `x**2 + 1`): no quotes, underscores, dots after
# names, or other identifiers than single letters and these functions.
_PLAIN_EXPRESSION = re.compile(
    r"(?:[0-9\s+\-*/^().,]|\b(?:sqrt|pi|exp|log|ln|sin|cos|tan|oo)\b|\b[A-Za-z]\b)+"
)


def _as_latex(answer: str) -> str:
    # Wrap a bare answer in $...$ so the LaTeX extractor sees one expression; stray $ would split it.
    return "$" + answer.replace("\\$", "").replace("$", "") + "$"


def _is_math(x: object) -> bool:
    return isinstance(x, Basic | MatrixBase)


def parse_answer(answer: str) -> list:
    """math-verify's parse of one bare answer: sympy objects and/or the raw string."""
    return parse(_as_latex(normalize_numbers(answer)), extraction_config=_CONFIG, parsing_timeout=None)


def parse_parts(parts: tuple[str, ...]) -> list:
    """One answer, or several parts joined into one set (flattening sets, as math-verify joins
    "1, 2 and 3"). A part that does not parse leaves the whole unparsed: no partial credit."""
    if len(parts) == 1:
        return parse_answer(parts[0])
    elements: list = []
    for part in parts:
        math = [x for x in parse_answer(part) if _is_math(x)]
        if not math:
            return []
        elements.extend(math[0].args if isinstance(math[0], FiniteSet) else [math[0]])
    return [FiniteSet(*elements)]


@lru_cache(maxsize=1024)
def parse_reference(reference: str) -> tuple:
    """References repeat across a group of samples: parse each once per worker."""
    reference = normalize_numbers(reference)
    text = reference if "\\boxed" in reference else _as_latex(reference)
    gold = parse(text, extraction_config=_CONFIG, parsing_timeout=None)
    if not any(_is_math(x) for x in gold) and _PLAIN_EXPRESSION.fullmatch(reference):
        # A gold in Python/sympy syntax (`x**2 + 1`). sympy's parser `eval`s: references are trusted,
        # but through the HTTP service anyone who reaches it sends them, so only digits, operators,
        # single letters and a few math names get here. (math-verify's own expression extraction is
        # no help: it takes the last number of `x**2 + 1`, which would make a response "1" right.)
        try:
            expr = parse_expr(reference.replace("^", "**"), evaluate=False)
            # latex2sympy makes real symbols; sympy's x would never equal the answer's x otherwise.
            expr = expr.xreplace({v: Symbol(v.name, real=True) for v in expr.free_symbols})
            gold = [expr, reference]
        except Exception:  # noqa: BLE001 - any failure leaves the string comparison
            pass
    return tuple(gold)


@dataclass(frozen=True)
class Comparison:
    equal: bool
    reference_parsed: bool  # math-verify got anything (sympy or string) from the reference
    answer_is_math: bool  # the answer parsed to a sympy object (not just a string)


# Integers of up to 50 digits (far below Python's int-parsing limit) compare without sympy.
_INTEGER = re.compile(r"[-+]?\d{1,50}")


def integer_fast_path(reference: str, parts: tuple[str, ...]) -> bool | None:
    """Equal or not when gold and answer are both plain integers (after number formats), else None.
    Integer answers are the bulk of GSM8K-style rewards; math-verify compares integers exactly too,
    so the verdict is the same, at a small fraction of the cost of parsing both sides."""
    if len(parts) != 1:
        return None
    gold, answer = normalize_numbers(reference.strip()), normalize_numbers(parts[0].strip())
    if _INTEGER.fullmatch(gold) and _INTEGER.fullmatch(answer):
        return int(gold) == int(answer)
    return None


def compare(
    reference: str, parts: tuple[str, ...], *, float_rounding: int, numeric_precision: int, strict: bool
) -> Comparison:
    """Gold first: math-verify's `verify` is not symmetric and expects the reference as first argument."""
    fast = integer_fast_path(reference, parts)
    if fast is not None:
        return Comparison(fast, True, True)
    gold = list(parse_reference(reference))
    if not gold:
        return Comparison(False, False, False)
    pred = parse_parts(parts)
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
    return Comparison(equal, True, any(_is_math(p) for p in pred))
