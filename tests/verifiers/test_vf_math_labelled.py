"""The labelled regression set (tests/verifiers/data/math_labelled.jsonl, written by
bench/verifiers/make_math_labelled.py): the verifier with default options agrees with the hand labels
on at least 97% of pairs and accepts no wrong answer. `bench_math_labelled.py` prints the same numbers
beside math-verify called directly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verifiers import get_verifier

DATA = Path(__file__).with_name("data") / "math_labelled.jsonl"
ISSUE_CLASSES = {
    "no_cue",
    "final_answer_prose",
    "several_boxes",
    "hedge",
    "percent",
    "number_format",
    "reward_hack",
}


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]


def test_the_set_covers_every_class_with_both_labels(rows):
    assert len(rows) >= 300
    assert len({r["id"] for r in rows}) == len(rows)
    classes = {r["class"] for r in rows}
    assert ISSUE_CLASSES <= classes, ISSUE_CLASSES - classes
    for cls in ISSUE_CLASSES - {"hedge", "reward_hack"}:  # those two are wrong answers by nature
        assert {r["label"] for r in rows if r["class"] == cls} == {True, False}, cls
    assert 0.4 < sum(r["label"] for r in rows) / len(rows) < 0.6


def _judge(rows, **options):
    with get_verifier("math", workers=2, **options) as v:
        results = v.verify_batch([r["response"] for r in rows], [r["gold"] for r in rows])
    false_pos = [r["id"] for r, res in zip(rows, results, strict=True) if res.correct and not r["label"]]
    false_neg = [r["id"] for r, res in zip(rows, results, strict=True) if not res.correct and r["label"]]
    return false_pos, false_neg


def test_default_options_agree_with_the_labels(rows):
    false_pos, false_neg = _judge(rows)
    assert false_pos == []
    agreement = 1 - len(false_neg) / len(rows)
    assert agreement >= 0.97, f"{agreement:.1%}; false negatives: {false_neg}"


@pytest.mark.parametrize("extract", ["strict", "boxed,answer_is,last_number"])
def test_other_extractions_accept_no_wrong_answer(rows, extract):
    false_pos, _ = _judge(rows, extract=extract)
    assert false_pos == []
