"""Advantage estimators on hand-computed groups."""

from __future__ import annotations

import math

import pytest
import torch

from rlvr.objectives import ADVANTAGE_ESTIMATORS, compute_advantages, register_advantage_estimator

F64 = torch.float64


def test_registered_names():
    assert {"grpo", "dr_grpo", "rloo"} <= set(ADVANTAGE_ESTIMATORS.names())


def test_grpo_hand_computed_unbiased_std():
    r = torch.tensor([1.0, 0.0, 1.0, 1.0], dtype=F64)
    ids = torch.zeros(4, dtype=torch.long)
    # mean 0.75; deviations .25, -.75, .25, .25; unbiased var = 0.75 / 3 = 0.25 -> std 0.5
    adv = compute_advantages("grpo", r, ids, eps=0.0)
    torch.testing.assert_close(adv, torch.tensor([0.5, -1.5, 0.5, 0.5], dtype=F64), rtol=1e-15, atol=0)
    default_eps = compute_advantages("grpo", r, ids)
    torch.testing.assert_close(default_eps, adv * 0.5 / (0.5 + 1e-6), rtol=1e-15, atol=0)


def test_dr_grpo_and_rloo_hand_computed():
    r = torch.tensor([1.0, 0.0, 1.0, 1.0], dtype=F64)
    ids = torch.zeros(4, dtype=torch.long)
    torch.testing.assert_close(
        compute_advantages("dr_grpo", r, ids), torch.tensor([0.25, -0.75, 0.25, 0.25], dtype=F64)
    )
    # R_i - mean of the other three
    torch.testing.assert_close(
        compute_advantages("rloo", r, ids), torch.tensor([1 / 3, -1.0, 1 / 3, 1 / 3], dtype=F64)
    )


def test_non_contiguous_interleaved_group_ids():
    r = torch.tensor([3.0, 10.0, 5.0, 20.0, 7.0, 1.0], dtype=F64)
    ids = torch.tensor([42, 7, 42, 7, 42, 1000])
    # group 42: 3, 5, 7 (mean 5, std 2); group 7: 10, 20 (mean 15, std sqrt(50)); group 1000: single
    s = math.sqrt(50.0)
    grpo = compute_advantages("grpo", r, ids, eps=0.0)
    torch.testing.assert_close(grpo, torch.tensor([-1.0, -5 / s, 0.0, 5 / s, 1.0, 0.0], dtype=F64))
    dr = compute_advantages("dr_grpo", r, ids)
    torch.testing.assert_close(dr, torch.tensor([-2.0, -5.0, 0.0, 5.0, 2.0, 0.0], dtype=F64))
    rloo = compute_advantages("rloo", r, ids)
    torch.testing.assert_close(rloo, torch.tensor([-3.0, -10.0, 0.0, 10.0, 3.0, 0.0], dtype=F64))


@pytest.mark.parametrize("name", ["grpo", "dr_grpo", "rloo"])
def test_equal_rewards_give_exact_zeros(name):
    # 0.1 * 3 / 3 != 0.1 in floating point: the zero must be enforced, not computed
    r = torch.tensor([0.1, 0.1, 0.1, 0.7, 0.7, 1.0], dtype=torch.float32)
    ids = torch.tensor([5, 5, 5, 9, 9, 11])
    adv = compute_advantages(name, r, ids)
    assert adv.dtype == torch.float32
    assert (adv == 0).all()
    assert not torch.isnan(adv).any()


@pytest.mark.parametrize("name", ["grpo", "dr_grpo", "rloo"])
def test_single_sample_groups_give_zero(name):
    adv = compute_advantages(name, torch.tensor([1.0, 0.0, 0.5]), torch.tensor([0, 1, 2]))
    assert (adv == 0).all()


def test_integer_and_bool_rewards():
    ids = torch.tensor([0, 0, 1, 1])
    a = compute_advantages("dr_grpo", torch.tensor([1, 0, 0, 1]), ids)
    b = compute_advantages("dr_grpo", torch.tensor([True, False, False, True]), ids)
    torch.testing.assert_close(a, torch.tensor([0.5, -0.5, -0.5, 0.5]))
    torch.testing.assert_close(b, a)


def test_errors():
    with pytest.raises(ValueError, match="integer"):
        compute_advantages("grpo", torch.ones(2), torch.zeros(2))
    with pytest.raises(ValueError, match=r"\[N\]"):
        compute_advantages("grpo", torch.ones(2, 2), torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(KeyError, match="rloo"):
        compute_advantages("nope", torch.ones(2), torch.zeros(2, dtype=torch.long))


def test_custom_estimator_registration():
    @register_advantage_estimator("test_raw")
    def raw(rewards, group_ids, *, eps=1e-6):
        return rewards.float()

    assert compute_advantages("test_raw", torch.tensor([2.0]), torch.tensor([0])).item() == 2.0
