"""The embedded default's pre-training data and script (the full 1,500-step run is `rlvr model prepare tiny-arith`)."""

import re

import pytest

from rlvr.models.pretrain import pretrain_tiny_arith, sft_examples
from rlvr.tasks.arith import generate

STEP = re.compile(r"(-?\d+) ([+\-*]) (-?\d+)(?: ([+\-]) (-?\d+))? = (-?\d+)")


def _check_equations(text: str) -> int:
    """Every 'a op b [op c] = d' in a solution is true; returns how many were checked."""
    ops = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y}
    n = 0
    for a, op, b, op2, c, d in STEP.findall(text):
        value = ops[op](int(a), int(b))
        if op2:
            value = ops[op2](value, int(c))
        assert value == int(d), f"false step in {text!r}"
        n += 1
    return n


def test_solution_paths_are_correct_varied_and_never_test_questions():
    examples = sft_examples(600, seed=0)
    test_questions = {r["prompt"] for r in generate("test")}
    checked, styles = 0, set()
    for user, response in examples:
        assert user not in test_questions
        checked += _check_equations(response)
        final = re.search(r"\\boxed\{(-?\d+)\}", response).group(1)
        last = STEP.findall(response)[-1][-1]
        assert final == last
        styles.add(re.sub(r"\d+", "N", response))
    assert checked > 600 and len(styles) >= 9  # several solution paths per level


def test_a_few_pretraining_steps_give_a_loadable_model(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = pretrain_tiny_arith(tmp_path / "m", steps=3, batch_size=4, num_examples=32, log_every=1)
    model = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    ids = tok("What is 1 + 2?", return_tensors="pt")["input_ids"]
    assert torch.isfinite(model(ids).logits).all()
    assert tok.chat_template and tok.eos_token_id is not None


def test_the_same_seed_gives_the_same_data():
    assert sft_examples(50, seed=3) == sft_examples(50, seed=3) != sft_examples(50, seed=4)


@pytest.mark.parametrize("level", [1, 2, 3])
def test_every_level_appears(level):
    import random

    from rlvr.models.pretrain import _numbers, solution_paths
    from rlvr.tasks.arith import _problem

    question, answer = _problem(random.Random(level), level)
    for path in solution_paths(question, answer, level, _numbers(question, level)):
        assert path.endswith(f"\\boxed{{{answer}}}") or path.endswith(f"\\boxed{{{answer}}}.")
        _check_equations(path)
