"""The embedded default's pre-training data and script (the full run: `python -m rlvr.models.regenerate`)."""

import hashlib
import json
import re

import pytest
import torch

from rlvr.models.pretrain import LEVEL_MIX, STAGES, pretrain_tiny_arith, sft_examples
from rlvr.tasks.arith import INSTRUCTION, SIZES, generate

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


def test_solution_paths_are_correct_and_varied():
    checked, styles = 0, set()
    for _, response in sft_examples(600, seed=0):
        checked += _check_equations(response)
        final = re.search(r"\\boxed\{(-?\d+)\}", response).group(1)
        last = STEP.findall(response)[-1][-1]
        assert final == last
        styles.add(re.sub(r"\d+", "N", response))
    assert checked > 600 and len(styles) >= 9  # several solution paths per level


def test_no_question_of_any_task_split_is_in_the_pretraining_corpus():
    """The whole default corpus (what the shipped model read), against RL train, validation and test."""
    corpus = {user for user, _ in sft_examples(20000, seed=0)}
    for split in ("train", "validation", "test"):
        prompts = {row["prompt"] for row in generate(split)}
        assert len(prompts) == SIZES[split]
        assert not corpus & prompts, f"{len(corpus & prompts)} {split} questions leaked into pre-training"
    # The check above is not vacuous: prompts and corpus lines have the same form, and level-1
    # questions (8,100 possible) are dense enough that random drawing would hit the RL set.
    level1 = [u for u in corpus if u.startswith("What is ")]
    assert len(level1) > 2000 and all(u.endswith(INSTRUCTION) for u in corpus)


def test_the_same_seed_gives_the_same_data():
    assert sft_examples(50, seed=3) == sft_examples(50, seed=3) != sft_examples(50, seed=4)


def test_levels_follow_the_mix():
    users = [u for u, _ in sft_examples(2000, seed=0)]
    share1 = sum(u.startswith("What is ") for u in users) / len(users)
    assert share1 == pytest.approx(LEVEL_MIX.count(1) / len(LEVEL_MIX), abs=0.04)
    only3 = sft_examples(50, seed=0, levels=(3,))
    assert all("boxes" in u for u, _ in only3)


@pytest.mark.parametrize("level", [1, 2, 3])
def test_every_level_appears(level):
    import random

    from rlvr.models.pretrain import _numbers, solution_paths
    from rlvr.tasks.arith import _problem

    question, answer = _problem(random.Random(level), level)
    for path in solution_paths(question, answer, level, _numbers(question, level)):
        assert path.endswith(f"\\boxed{{{answer}}}") or path.endswith(f"\\boxed{{{answer}}}.")
        _check_equations(path)


def _digests(folder):
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(folder.iterdir())}


def test_a_short_regeneration_is_bit_identical_twice_and_loadable(tmp_path):
    """What `python -m rlvr.models.regenerate` runs (every stage), with 3 steps a stage."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlvr.models.regenerate import regenerate

    threads = torch.get_num_threads()
    kw = dict(steps=3, batch_size=4, num_examples=32, log_every=1)
    sums = regenerate(tmp_path / "a", **kw)
    assert regenerate(tmp_path / "b", **kw) == sums
    assert torch.get_num_threads() == threads and not torch.are_deterministic_algorithms_enabled()
    a = tmp_path / "a"
    assert _digests(a) == _digests(tmp_path / "b") and set(sums) >= {"model.safetensors", "tokenizer.json"}
    made = json.loads((a / "rlvr_tiny.json").read_text())
    assert [stage["steps"] for stage in made["stages"]] == [3] * len(STAGES)
    # ...and the steps did train: the weights moved from the seeded initialization.
    from rlvr.models.tiny import build_tiny_model

    init = build_tiny_model(tmp_path / "init", seed=0, hidden_size=128, num_layers=2, num_heads=2)
    assert _digests(init)["tokenizer.json"] == _digests(a)["tokenizer.json"]
    assert _digests(init)["model.safetensors"] != _digests(a)["model.safetensors"]

    model = AutoModelForCausalLM.from_pretrained(a)
    tok = AutoTokenizer.from_pretrained(a)
    ids = tok("What is 1 + 2?", return_tensors="pt")["input_ids"]
    assert torch.isfinite(model(ids).logits).all()
    assert tok.chat_template and tok.eos_token_id is not None
    with pytest.raises(FileExistsError, match="not empty"):
        regenerate(a, **kw)


def test_a_second_stage_starts_from_the_first(tmp_path):
    kw = dict(steps=2, batch_size=2, num_examples=8, log_every=1)
    first = pretrain_tiny_arith(tmp_path / "first", **kw)
    again = pretrain_tiny_arith(tmp_path / "again", **kw, init=first)
    fresh = pretrain_tiny_arith(tmp_path / "fresh", **{**kw, "steps": 4})
    weights = [_digests(d)["model.safetensors"] for d in (first, again, fresh)]
    assert len(set(weights)) == 3  # trained on, and not the same as one 4-step run (new schedule)


def test_bad_settings_are_refused(tmp_path):
    from rlvr.models.pretrain import pretrain_stages

    with pytest.raises(ValueError, match="steps"):
        pretrain_tiny_arith(tmp_path / "m", steps=0)
    with pytest.raises(ValueError, match="no stages"):
        pretrain_stages(tmp_path / "m", stages=())
