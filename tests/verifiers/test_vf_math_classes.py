"""The classes of misses and hacks of issue 10, each through the pooled verifier with default options
(plus the `strict` preset and the lenient `last_number` list). Each row failed before the fix."""

from __future__ import annotations

import time

import pytest

from verifiers import Reason, get_verifier

OK, WRONG, UNPARSEABLE = Reason.OK, Reason.WRONG, Reason.UNPARSEABLE

CLASSES = {
    "no box, no cue": [
        (r"Solving, we get $x \geq 5$. Therefore $x \geq 5$ is the solution.", r"x \geq 5", OK),
        (r"There are 6 outcomes and 4 are good, so the probability is $\frac{2}{3}$.", r"\frac{2}{3}", OK),
        (r"There are 6 outcomes and 4 are good, so the probability is $\frac{2}{3}$.", r"\frac{3}{4}", WRONG),
        ("So Natalia sold 48 + 24 = 72 clips altogether.", "72", OK),
        ("So Natalia sold 48 + 24 = 72 clips altogether.", "48", WRONG),
    ],
    "final answer sentence": [
        ("Final Answer: The largest $n$ is 34.", "34", OK),
        ("Final Answer: The largest $n$ is 34.", "35", WRONG),
        ("Final Answer: The final answer is $\\frac{7}{2}$. I hope it is correct.", "3.5", OK),
        ("**Final Answer:** She needs 12 more cookies.", "12", OK),
    ],
    "several boxes": [
        (r"The roots are \boxed{1}, \boxed{2}, \boxed{3}.", r"\{1, 2, 3\}", OK),
        (r"\boxed{(2, 2)} and \boxed{(6, 2)}", "(2, 2), (6, 2)", OK),
        (r"It is \boxed{1} or \boxed{5}.", "5", WRONG),  # a hedge stays unrewarded
        (r"\boxed{1}, \boxed{2}", "1, 2, 3", WRONG),  # part of the set is not the set
        (r"\boxed{1}, \boxed{2}, \boxed{3}, \boxed{4}", r"\{1, 2, 3\}", WRONG),
    ],
    "percentages": [
        (r"\boxed{28\%}", "28", OK),
        (r"\boxed{0.28}", r"28\%", OK),
        (r"\boxed{28 \%}", r"28\%", OK),
        (r"\boxed{12.5\%}", r"12.5\%", OK),
        (r"\boxed{27\%}", "28", WRONG),  # was unparseable: the parser crashed on every percent
        (r"\boxed{27\%}", r"28\%", WRONG),
    ],
    "number formats": [
        (r"\boxed{1 000}", "1000", OK),
        (r"\boxed{1 000}", "0", WRONG),  # read as 1*000 = 0 before: a false positive
        (r"\boxed{1\,000\,000}", "10^6", OK),
        (r"\boxed{10,455}", "10455", OK),
        (r"\boxed{10455}", "10,455", OK),
        ("The answer is 10,455.", "10455", OK),
        (r"\boxed{1.22}", "1,22", WRONG),  # a gold 1,22 is the list {1, 22}
        (r"\boxed{22, 1}", "1,22", OK),
    ],
    "last_number hack": [
        (r"so the ratio is $\frac{1+\sqrt{5}}{2}$", "2", WRONG),
        (r"so x = \frac{1+\sqrt{5}}{2}", "2", WRONG),
    ],
}
ROWS = [(cls, *row) for cls, rows in CLASSES.items() for row in rows]


@pytest.mark.parametrize(
    "cls, response, reference, reason", ROWS, ids=[f"{r[0]}-{i}" for i, r in enumerate(ROWS)]
)
def test_class_with_default_options(math_verifier, cls, response, reference, reason):
    result = math_verifier.verify(response, reference)
    assert result.reason is reason, (cls, result)


def test_lenient_last_number_never_takes_a_number_inside_latex():
    with get_verifier("math", workers=1, extract="boxed,answer_is,last_number") as v:
        got = v.verify_batch(
            [r"so x = \frac{1+\sqrt{5}}{2}", r"so $x = \frac{1+\sqrt{5}}{2}$", "so x = 2"], ["2"] * 3
        )
    assert [r.reason for r in got] == [UNPARSEABLE, UNPARSEABLE, OK]


def test_strict_preset_takes_boxes_only():
    with get_verifier("math", workers=1, extract="strict") as v:
        got = v.verify_batch([r"so \boxed{4}", "The answer is 4.", "so 4"], ["4"] * 3)
    assert [r.reason for r in got] == [OK, UNPARSEABLE, UNPARSEABLE]


def test_deep_nesting_is_refused_before_parsing(math_verifier):
    deep = "1"
    for _ in range(75):
        deep = r"\frac{" + deep + "}{2}"
    assert len(deep) < 1000
    assert math_verifier.pool.wait_ready(60)
    start = time.monotonic()
    result = math_verifier.verify(r"\boxed{" + deep + "}", "0")
    elapsed = time.monotonic() - start
    assert result.reason is UNPARSEABLE and "nests brackets 75 deep" in result.detail, result
    assert elapsed < math_verifier.options.timeout, f"{elapsed:.2f}s"


def test_deeply_nested_reference_is_an_error_not_a_timeout(math_verifier):
    deep = "1"
    for _ in range(75):
        deep = r"\frac{" + deep + "}{2}"
    result = math_verifier.verify(r"\boxed{1}", deep)
    assert result.reason is Reason.ERROR and "reference nests brackets 75 deep" in result.detail, result


def test_extract_option_names_presets_and_strategies():
    assert get_verifier("math", extract="strict").options.strategies() == ("boxed",)
    assert get_verifier("math").options.strategies() == ("boxed", "answer_is", "last_math")
    with pytest.raises(ValueError, match="or a preset: default, strict"):
        get_verifier("math", extract="lenient")
