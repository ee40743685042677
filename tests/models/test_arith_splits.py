"""The bundled arith task's splits the pre-training excludes: three, pairwise disjoint."""

import pytest

from rlvr.tasks.arith import SIZES, generate


def test_validation_is_disjoint_from_train_and_test_and_covers_every_level():
    questions = {split: [r["question"] for r in generate(split)] for split in SIZES}
    for split, rows in questions.items():
        assert len(rows) == len(set(rows)) == SIZES[split]
    assert not set(questions["validation"]) & (set(questions["train"]) | set(questions["test"]))
    assert not set(questions["train"]) & set(questions["test"])
    assert {r["level"] for r in generate("validation")} == {1, 2, 3}


def test_an_unknown_split_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="test.*train.*validation"):
        generate("dev")
