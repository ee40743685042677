"""Generations + verifier results -> the learner's rollout batch, advantages and reward metrics."""

import pytest
import torch

from rlvr.rollout.types import Generation
from rlvr.trainer.rollout_batch import build_rollout_batch
from verifiers.result import Reason, VerifyResult


def _gen(prompt_index, k, n_tokens, finish="stop"):
    return Generation(
        prompt_index=prompt_index,
        sample_index=k,
        prompt_token_ids=[1, 2],
        token_ids=list(range(3, 3 + n_tokens)),
        text="x " * n_tokens,
        logprobs=[-0.1 * (j + 1) for j in range(n_tokens)],
        finish_reason=finish,
    )


def _res(ok, reason=None):
    return VerifyResult(
        score=1.0 if ok else 0.0, correct=ok, reason=reason or (Reason.OK if ok else Reason.WRONG)
    )


def test_grpo_advantages_logp_old_and_metrics():
    gens = [_gen(0, 0, 2), _gen(0, 1, 3), _gen(1, 0, 1, "length"), _gen(1, 1, 2)]
    results = [_res(True), _res(False), _res(False, Reason.UNPARSEABLE), _res(False)]
    batch, m = build_rollout_batch(gens, results, advantage="grpo", pad_id=0)
    adv = batch.tensors["advantages"]
    assert adv[0] > 0 > adv[1] and adv[0] == pytest.approx(-adv[1])
    assert torch.equal(adv[2:], torch.zeros(2))  # a group with equal rewards carries no signal
    assert batch.tensors["logp_old"][1, 2:5].tolist() == pytest.approx([-0.1, -0.2, -0.3])
    assert batch.loss_mask.sum() == 2 + 3 + 1 + 2
    assert m["reward/accuracy"] == 0.25 and m["reward/prompt_solved_fraction"] == 0.5
    assert m["reward/reason_unparseable"] == 0.25 and m["response/truncated_fraction"] == 0.25
    assert m["response/length_mean"] == 2.0


def test_dapo_dynamic_sampling_drops_equal_reward_groups():
    gens = [_gen(0, 0, 2), _gen(0, 1, 3), _gen(1, 0, 1), _gen(1, 1, 2), _gen(2, 0, 1), _gen(2, 1, 1)]
    results = [_res(True), _res(False), _res(False), _res(False), _res(True), _res(True)]
    batch, m = build_rollout_batch(
        gens, results, advantage="grpo", pad_id=0, filter_zero_advantage_groups=True
    )
    assert len(batch) == 2 and m["rollout/kept_fraction"] == pytest.approx(2 / 6)
    assert batch.tensors["rewards"].tolist() == [1.0, 0.0]


def test_nothing_left_after_filtering_returns_none():
    gens = [_gen(0, 0, 2), _gen(0, 1, 3)]
    batch, m = build_rollout_batch(
        gens, [_res(False), _res(False)], advantage="grpo", pad_id=0, filter_zero_advantage_groups=True
    )
    assert batch is None and m["rollout/kept_fraction"] == 0.0
