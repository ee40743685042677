"""DPH-RL's weighting: bank rows in micro-batches of their own, every micro-batch weighing the same.

The authors' verl fork backpropagates, per micro-batch, that micro-batch's own token-mean loss
(policy loss for rollout rows, coef x divergence for bank rows) divided by the number of
micro-batches. These tests pin the learner to exactly that on a fixed batch, independently of the
learner's own planning code.
"""

from __future__ import annotations

import pytest
import torch
from learner_helpers import random_batch
from transformers import AutoModelForCausalLM

from rlvr.algorithms import Objective
from rlvr.learner import Learner, LearnerOptions, naive_token_logprobs
from rlvr.learner.microbatch import plan_separate_micro_batches

ROLLOUT_ROWS, BANK_ROWS, MBS = 8, 4, 4


def fixed_batches():
    rollout = random_batch(ROLLOUT_ROWS, seed=11, max_response=8)
    g = torch.Generator().manual_seed(5)
    rollout.tensors["advantages"] = torch.randn(ROLLOUT_ROWS, generator=g)
    rollout.tensors["logp_old"] = (-torch.rand(rollout.input_ids.shape, generator=g) * 3) * rollout.loss_mask
    bank = random_batch(BANK_ROWS, seed=12, max_response=8)
    bank.tensors["logp_ref"] = (-torch.rand(bank.input_ids.shape, generator=g) * 3) * bank.loss_mask
    return rollout, bank


def objective(weighting: str) -> Objective:
    return Objective(
        policy_kwargs={"eps_low": 0.2, "eps_high": 0.28, "dual_clip": 3.0},
        divergence="forward_kl",
        divergence_coef=0.5,
        divergence_source="bank",
        bank_weighting=weighting,
    )


def reference_step(model_path, rollout, bank) -> tuple[float, float]:
    """sum over micro-batches [token-mean loss of that micro-batch] / num_micro, micro-batches cut
    by hand: rollout rows 0-3 and 4-7, bank rows 0-3."""
    hf = AutoModelForCausalLM.from_pretrained(model_path)
    obj = objective("paper")
    micros = [
        {"rollout": rollout.select(slice(0, 4)).trim()},
        {"rollout": rollout.select(slice(4, 8)).trim()},
        {"bank": bank.trim()},
    ]
    losses = []
    for micro in micros:
        outs = {name: naive_token_logprobs(hf, b, with_entropy=True) for name, b in micro.items()}
        losses.append(obj(outs, micro)[0])
    loss = sum(losses) / len(micros)
    loss.backward()
    norm = torch.nn.utils.get_total_norm([p.grad for p in hf.parameters() if p.grad is not None])
    return float(loss.detach()), float(norm)


def test_micro_batches_hold_one_source_and_weigh_by_rows():
    rollout, bank = fixed_batches()
    plans = plan_separate_micro_batches({"rollout": rollout, "bank": bank}, MBS)
    assert [sorted(p) for p, _ in plans] == [["rollout"], ["rollout"], ["bank"]]
    assert [w for _, w in plans] == pytest.approx([1 / 3] * 3)  # full micro-batches: 1 / num_micro
    # A bank micro-batch of 2 rows next to two full rollout micro-batches of 4 weighs half as much,
    # which keeps the divergence's effective weight at coef x bank rows / rollout rows.
    plans = plan_separate_micro_batches({"rollout": rollout, "bank": bank.select(slice(0, 2))}, MBS)
    assert [w for _, w in plans] == pytest.approx([0.4, 0.4, 0.2])


def test_paper_weighting_step_equals_mean_of_micro_batch_token_means(tiny_model_path):
    rollout, bank = fixed_batches()
    learner = Learner(tiny_model_path, LearnerOptions(zero_stage=0, lr=1e-3, grad_clip=0.0))
    m = learner.train_step({"rollout": rollout, "bank": bank}, objective("paper"), micro_batch_size=MBS)
    expected_loss, expected_norm = reference_step(tiny_model_path, rollout, bank)
    assert m["micro_batches"] == 3
    assert (m["loss"], m["grad_norm"]) == pytest.approx((expected_loss, expected_norm), abs=1e-5)
    # policy metrics come from the rollout micro-batches only, divergence metrics from the bank's
    assert "policy/clip_frac_low" in m and "divergence/value" in m


def test_joint_weighting_is_a_different_objective(tiny_model_path):
    """The check above can fail: rlvr's joint weighting (bank rows in every micro-batch, loss
    policy + coef x divergence) gives another gradient on the same batch."""
    rollout, bank = fixed_batches()
    learner = Learner(tiny_model_path, LearnerOptions(zero_stage=0, lr=1e-3, grad_clip=0.0))
    m = learner.train_step({"rollout": rollout, "bank": bank}, objective("joint"), micro_batch_size=MBS)
    _, paper_norm = reference_step(tiny_model_path, rollout, bank)
    assert m["micro_batches"] == 2
    assert abs(m["grad_norm"] - paper_norm) > 1e-3
