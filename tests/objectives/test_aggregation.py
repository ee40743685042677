"""aggregate(): each mode on hand-computed values, empty sequences, and masked garbage."""

from __future__ import annotations

import pytest
import torch

from rlvr.objectives import aggregate

VALUES = [[1.0, 2.0, 3.0], [4.0, 0.0, 0.0], [7.0, 7.0, 7.0]]
MASK = [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]  # third sequence is empty

EXPECTED = {
    "token-mean": (1 + 2 + 3 + 4) / 4,
    "seq-mean-token-sum": (6 + 4) / 2,  # the empty sequence does not count
    "seq-mean-token-mean": (2 + 4) / 2,
    "seq-mean-token-sum-norm": (6 / 5 + 4 / 5) / 2,
}


@pytest.mark.parametrize("mode", sorted(EXPECTED))
def test_modes_hand_computed(mode):
    v = torch.tensor(VALUES, dtype=torch.float64)
    m = torch.tensor(MASK, dtype=torch.float64)
    assert float(aggregate(v, m, mode, norm=5.0)) == pytest.approx(EXPECTED[mode], rel=1e-12)


def test_sum_norm_defaults_to_width():
    v = torch.tensor(VALUES, dtype=torch.float64)
    m = torch.tensor(MASK, dtype=torch.float64)
    assert float(aggregate(v, m, "seq-mean-token-sum-norm")) == pytest.approx((6 / 3 + 4 / 3) / 2)


@pytest.mark.parametrize("mode", sorted(EXPECTED))
def test_masked_garbage_does_not_leak_into_value_or_gradient(mode):
    v = torch.tensor(VALUES, dtype=torch.float64)
    v[1, 1], v[1, 2], v[2, 0] = float("inf"), float("nan"), -float("inf")
    v.requires_grad_()
    m = torch.tensor(MASK, dtype=torch.float64)
    out = aggregate(v, m, mode, norm=5.0)
    assert float(out.detach()) == pytest.approx(EXPECTED[mode], rel=1e-12)
    out.backward()
    assert torch.isfinite(v.grad).all()
    assert (v.grad[m == 0] == 0).all()


def test_token_weights_per_mode():
    # gradient = the weight each token receives: shows the length bias of each mode
    v = torch.zeros(2, 4, dtype=torch.float64, requires_grad=True)
    m = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    weights = {}
    for mode in ("token-mean", "seq-mean-token-sum", "seq-mean-token-mean"):
        (g,) = torch.autograd.grad(aggregate(v, m, mode), v)
        weights[mode] = (float(g[0, 0]), float(g[1, 0]))
    assert weights["token-mean"] == pytest.approx((1 / 5, 1 / 5))
    assert weights["seq-mean-token-sum"] == pytest.approx((1 / 2, 1 / 2))
    assert weights["seq-mean-token-mean"] == pytest.approx((1 / 8, 1 / 2))  # short sequence's token weighs 4x


@pytest.mark.parametrize("mode", sorted(EXPECTED))
def test_all_masked_is_zero_with_zero_gradient(mode):
    v = torch.full((2, 3), float("nan"), dtype=torch.float64, requires_grad=True)
    out = aggregate(v, torch.zeros(2, 3, dtype=torch.float64), mode, norm=3.0)
    assert float(out.detach()) == 0.0
    out.backward()
    assert (v.grad == 0).all()


def test_bool_mask_and_errors():
    v = torch.tensor(VALUES)
    assert float(aggregate(v, torch.tensor(MASK) > 0)) == pytest.approx(2.5)
    with pytest.raises(ValueError, match="unknown aggregation mode 'mean'"):
        aggregate(v, torch.tensor(MASK), "mean")
    with pytest.raises(ValueError, match=r"same \[B, T\] shape"):
        aggregate(v, torch.ones(3))
    with pytest.raises(ValueError, match="norm > 0"):
        aggregate(v, torch.tensor(MASK), "seq-mean-token-sum-norm", norm=0.0)
