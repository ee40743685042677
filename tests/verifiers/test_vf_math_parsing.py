"""What happens before and inside the parser: number formats, the nesting bound, the ANTLR 4.9.3 fix,
and comparison of several parts as one set (in-process: these run in the test's own interpreter)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest

from verifiers.math.bounds import MAX_NESTING, nesting_depth, too_complex
from verifiers.math.numbers import normalize_numbers


@pytest.mark.parametrize(
    "text, expected",
    [
        ("10,455", "10455"),
        ("1,234,567.5", "1234567.5"),
        ("1 000", "1000"),
        (r"1\,000\,000", "1000000"),
        ("1{,}234", "1234"),
        ("-1,000", "-1000"),
        ("1,22", "1,22"),  # not thousands: a list
        ("1,2,3", "1,2,3"),
        ("(1, 234)", "(1, 234)"),  # a space after the comma: a tuple
        ("x_1,000", "x_1,000"),  # a subscript is not a number's start
        ("3.1,415", "3.1,415"),  # decimals are never grouped
        ("12,3456", "12,3456"),  # a group of 4 is not a thousands group
    ],
)
def test_number_formats(text, expected):
    assert normalize_numbers(text) == expected


def test_nesting_depth_and_bound():
    assert nesting_depth(r"\frac{\sqrt{2}}{2}") == 2
    assert nesting_depth(r"\left(\frac{\sqrt{3}}{2}, \frac{1}{2}\right)") == 3
    assert nesting_depth(")))(") == 1  # stray closers are ignored
    ok = "(" * MAX_NESTING + "1" + ")" * MAX_NESTING
    assert too_complex(ok, max_chars=1000) is None
    assert "nests brackets" in too_complex("(" + ok + ")", max_chars=1000)
    assert "max_answer_chars" in too_complex("1" * 1001, max_chars=1000)


def test_percent_parses_under_the_installed_antlr_runtime():
    """latex2sympy2_extended's 4.9.3 parser lacked AtomContext.FUNC_GAMMA, so every `28\\%` raised."""
    from latex2sympy2_extended import latex2sympy
    from sympy import Rational

    import verifiers.math.antlr_compat as compat

    assert compat.patch_antlr_4_9_3_parser() is False  # already applied on import, and idempotent
    assert latex2sympy(r"28\%").doit() == Rational(28, 100)
    assert latex2sympy(r"\{10\%, 20\%\}").doit() == latex2sympy(r"\{\frac{1}{10}, \frac{1}{5}\}")
    assert latex2sympy(r"\Gamma(3)") == 2  # what FUNC_GAMMA is about still works


def test_the_antlr_fault_is_real_without_the_patch():
    """Guards the reason for antlr_compat: unpatched, the pinned runtime fails on a percent."""
    if not importlib.metadata.version("antlr4-python3-runtime").startswith("4.9.3"):
        pytest.skip("only the 4.9.3 runtime (pinned by hydra-core/omegaconf) has the stale parser")
    code = "from latex2sympy2_extended import latex2sympy; latex2sympy(r'28\\%')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "FUNC_GAMMA" in proc.stderr


@pytest.mark.parametrize(
    "reference, parts, equal",
    [
        (r"\{1, 2, 3\}", ("1", "2", "3"), True),
        ("1, 2, 3", ("3", "1", "2"), True),
        ("(2, 2), (6, 2)", ("(2, 2)", "(6, 2)"), True),
        ("5", ("1", "5"), False),
        ("1, 5", ("1", r"\frac{1}{0"), False),  # a part that does not parse spoils the set
        ("10,455", ("10455",), True),
        (r"28\%", ("0.28",), True),
        ("2*sqrt(3)", (r"2\sqrt{3}",), True),  # a trusted gold may be a plain expression
    ],
)
def test_compare_parts_as_one_set(reference, parts, equal):
    from verifiers.math.equivalence import compare

    got = compare(reference, parts, float_rounding=6, numeric_precision=15, strict=True)
    assert got.reference_parsed and got.equal is equal


@pytest.mark.parametrize(
    "reference, answer",
    [
        ("72", "72"),
        ("72", "71"),
        ("-5", "-5"),
        ("-5", "5"),
        ("5", "05"),
        ("+3", "3"),
        ("10,455", "10455"),
        ("1000", "1 000"),
        ("0", "1 000"),
        ("0", "-0"),
        ("12345678901234567890", "12345678901234567891"),
    ],
)
def test_integer_fast_path_gives_math_verifys_verdict(reference, answer):
    from math_verify import LatexExtractionConfig, parse, verify

    from verifiers.math.equivalence import integer_fast_path

    fast = integer_fast_path(reference, (answer,))
    assert fast is not None
    config = (LatexExtractionConfig(),)
    # math-verify itself misreads "1 000" as 1*000; give it the joined digits to compare the verdicts
    gold, pred = (parse(f"${normalize_numbers(x)}$", extraction_config=config) for x in (reference, answer))
    assert fast is verify(gold, pred)


@pytest.mark.parametrize(
    "reference, answer", [("1,22", "122"), ("28", r"28\%"), ("2", "2.0"), ("1" * 60, "1" * 60)]
)
def test_integer_fast_path_leaves_the_rest_to_math_verify(reference, answer):
    from verifiers.math.equivalence import integer_fast_path

    assert integer_fast_path(reference, (answer,)) is None


def test_a_reference_that_is_not_plain_math_never_reaches_the_eval_path(tmp_path):
    from verifiers.math.equivalence import parse_reference

    marker = tmp_path / "pwned"
    for reference in (
        f"__import__('os').system('touch {marker}')",
        f"open('{marker}', 'w')",
        "().__class__.__base__",
    ):
        parse_reference(reference)
    assert not marker.exists()


@pytest.mark.parametrize(
    "answer, equal", [("x^2 + 1", True), ("1 + x^2", True), ("1", False), ("x^2", False)]
)
def test_a_gold_in_python_syntax_is_read_whole(answer, equal):
    from verifiers.math.equivalence import compare

    got = compare("x**2 + 1", (answer,), float_rounding=6, numeric_precision=15, strict=True)
    assert got.equal is equal
