"""Answer extraction (pure string scanning; no math parsing)."""

from __future__ import annotations

import time

import pytest

from verifiers.math.extract import boxed_contents, extract_answer

ALL = ("boxed", "answer_is", "last_number")


@pytest.mark.parametrize(
    "text, strategies, expected",
    [
        (r"so \boxed{\frac{1}{2}}.", ALL, (r"\frac{1}{2}", "boxed")),
        (r"\boxed{a} then \boxed{\sqrt{\frac{1}{{2}}}}", ALL, (r"\sqrt{\frac{1}{{2}}}", "boxed")),
        (r"\fbox{7}", ALL, ("7", "boxed")),
        (r"\boxed 5 done", ALL, ("5", "boxed")),
        (r"set \boxed{\{1, 2\}}", ALL, (r"\{1, 2\}", "boxed")),
        ("The answer is 42.", ALL, ("42", "answer_is")),
        ("Final answer: $3.5$ dollars. Bye", ALL, ("3.5", "answer_is")),
        ("the answer is 2.5 kg. Next", ALL, ("2.5 kg", "answer_is")),
        ("We get 1,234 apples and 7 pears", ALL, ("7", "last_number")),
        ("We get 1,234 apples", ALL, ("1234", "last_number")),
        ("ratio 3/4", ("last_number",), ("3/4", "last_number")),
        ("We get 12 apples", ("boxed", "answer_is"), None),
        (r"unclosed \boxed{12", ("boxed",), None),
        ("", ALL, None),
    ],
)
def test_extraction_table(text, strategies, expected):
    found = extract_answer(text, strategies)
    assert (None if found is None else (found.answer, found.strategy)) == expected


def test_distinct_boxes_counted():
    assert extract_answer(r"\boxed{1} or \boxed{ 1 }", ALL).distinct_boxes == 1
    assert extract_answer(r"\boxed{1} or \boxed{2}", ALL).distinct_boxes == 2
    assert boxed_contents(r"\boxed{\}}") == [r"\}"]


def test_extraction_is_linear_on_huge_input():
    text = ("\\boxed{" * 50_000) + ("{" * 200_000) + "x " * 200_000
    start = time.monotonic()
    extract_answer(text, ALL)
    assert time.monotonic() - start < 2.0
