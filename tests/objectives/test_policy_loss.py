"""PPO-clip on hand-computed tokens: every clip branch, aggregation, masks, metrics."""

from __future__ import annotations

import math

import pytest
import torch

from rlvr.objectives import POLICY_LOSSES, aggregate, ppo_clip
from rlvr.objectives.aggregation import AGGREGATION_MODES

F64 = torch.float64


def one_token(ratio, adv, **kwargs):
    """loss, d loss / d logp and metrics for a single token with the given ratio and advantage."""
    logp = torch.tensor([[math.log(ratio)]], dtype=F64, requires_grad=True)
    loss, metrics = ppo_clip(
        logp, torch.zeros(1, 1, dtype=F64), torch.tensor([adv], dtype=F64), torch.ones(1, 1), **kwargs
    )
    loss.backward()
    return float(loss.detach()), float(logp.grad), metrics


# (ratio, advantage, options, expected loss, expected d loss / d logp, metric that must be 1)
CASES = {
    "unclipped": (1.1, 2.0, {}, -2.2, -2.2, None),
    "clipped high, A > 0": (1.5, 1.0, {}, -1.2, 0.0, "clip_frac_high"),
    "clipped low, A < 0": (0.5, -1.0, {}, 0.8, 0.0, "clip_frac_low"),
    "below range, A > 0: unclipped side chosen": (0.5, 1.0, {}, -0.5, -0.5, None),
    "above range, A < 0: unclipped side chosen": (1.5, -1.0, {}, 1.5, 1.5, None),
    "above range, A < 0, no dual clip": (5.0, -1.0, {}, 5.0, 5.0, None),
    "dual clip active": (5.0, -1.0, {"dual_clip": 3.0}, 3.0, 0.0, "dual_clip_frac"),
    "dual clip inactive below c": (2.0, -1.0, {"dual_clip": 3.0}, 2.0, 2.0, None),
    "dual clip ignores A > 0": (5.0, 1.0, {"dual_clip": 3.0}, -1.2, 0.0, "clip_frac_high"),
    "clip-higher lets r = 1.25 through": (1.25, 1.0, {"eps_high": 0.28}, -1.25, -1.25, None),
    "symmetric clip cuts r = 1.25": (1.25, 1.0, {}, -1.2, 0.0, "clip_frac_high"),
    "clip-higher keeps the low bound": (0.75, -1.0, {"eps_high": 0.28}, 0.8, 0.0, "clip_frac_low"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_clip_branches(case):
    ratio, adv, options, want_loss, want_grad, active = CASES[case]
    loss, g, metrics = one_token(ratio, adv, **options)
    assert loss == pytest.approx(want_loss, rel=1e-12)
    assert g == pytest.approx(want_grad, rel=1e-12, abs=1e-15)
    for key in ("clip_frac_low", "clip_frac_high", "dual_clip_frac"):
        assert metrics[key] == (1.0 if key == active else 0.0), key
    assert metrics["ratio_mean"] == pytest.approx(ratio)
    assert metrics["approx_kl"] == pytest.approx(ratio - 1 - math.log(ratio))


LOGP = [[-1.0, -0.5, -2.0], [-0.3, -1.2, -0.9]]
LOGP_OLD = [[-1.1, -0.9, -2.0], [-0.3, -0.6, -0.2]]
ADV = [1.0, -2.0]
MASK = [[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]


def hand_per_token(eps=0.2):
    r = torch.tensor(LOGP, dtype=F64).sub(torch.tensor(LOGP_OLD, dtype=F64)).exp()
    a = torch.tensor(ADV, dtype=F64)[:, None].expand(2, 3)
    return torch.maximum(-r * a, -r.clamp(1 - eps, 1 + eps) * a)


@pytest.mark.parametrize("mode", AGGREGATION_MODES)
def test_aggregation_modes(mode):
    logp = torch.tensor(LOGP, dtype=F64, requires_grad=True)
    mask = torch.tensor(MASK, dtype=F64)
    loss, metrics = ppo_clip(
        logp,
        torch.tensor(LOGP_OLD, dtype=F64),
        torch.tensor(ADV, dtype=F64),
        mask,
        aggregation=mode,
        aggregation_norm=3.0,
    )
    expected = aggregate(hand_per_token(), mask, mode, norm=3.0)
    torch.testing.assert_close(loss, expected, rtol=1e-12, atol=0)
    assert metrics["pg_loss"] == pytest.approx(float(expected))


def test_per_token_advantages_equal_broadcast_sequence_advantages():
    logp = torch.tensor(LOGP, dtype=F64)
    old = torch.tensor(LOGP_OLD, dtype=F64)
    mask = torch.tensor(MASK, dtype=F64)
    a = torch.tensor(ADV, dtype=F64)
    seq, _ = ppo_clip(logp, old, a, mask)
    tok, _ = ppo_clip(logp, old, a[:, None].expand(2, 3).clone(), mask)
    assert float(seq) == float(tok)


def test_masked_garbage_does_not_leak():
    mask = torch.tensor(MASK, dtype=F64)
    clean_logp = torch.tensor(LOGP, dtype=F64, requires_grad=True)
    clean, _ = ppo_clip(clean_logp, torch.tensor(LOGP_OLD, dtype=F64), torch.tensor(ADV, dtype=F64), mask)
    clean.backward()

    logp = torch.tensor(LOGP, dtype=F64)
    logp[0, 2] = float("nan")
    logp.requires_grad_()
    old = torch.tensor(LOGP_OLD, dtype=F64)
    old[0, 2] = -float("inf")
    adv = torch.tensor(ADV, dtype=F64)[:, None].expand(2, 3).clone()
    adv[0, 2] = float("inf")
    entropy = torch.ones(2, 3, dtype=F64)
    entropy[0, 2] = float("nan")
    dirty, metrics = ppo_clip(logp, old, adv, mask, entropy=entropy, entropy_coef=0.0, dual_clip=3.0)
    dirty.backward()
    assert float(dirty.detach()) == float(clean.detach())
    assert torch.isfinite(logp.grad).all() and logp.grad[0, 2] == 0
    torch.testing.assert_close(logp.grad, clean_logp.grad, rtol=0, atol=0)
    assert all(math.isfinite(v) for v in metrics.values())


def test_entropy_bonus():
    logp = torch.tensor(LOGP, dtype=F64)
    mask = torch.tensor(MASK, dtype=F64)
    entropy = torch.tensor([[0.5, 1.5, 9.0], [1.0, 2.0, 3.0]], dtype=F64, requires_grad=True)
    loss, metrics = ppo_clip(
        logp,
        torch.tensor(LOGP_OLD, dtype=F64),
        torch.tensor(ADV, dtype=F64),
        mask,
        entropy=entropy,
        entropy_coef=0.1,
    )
    pg = aggregate(hand_per_token(), mask)
    torch.testing.assert_close(loss, pg - 0.1 * 8.0 / 5, rtol=1e-12, atol=0)
    assert metrics["entropy"] == pytest.approx(8.0 / 5)
    loss.backward()
    torch.testing.assert_close(entropy.grad, -0.1 * mask / 5, rtol=1e-12, atol=0)


def test_metrics_over_a_batch():
    # ratios 2, 0.5, 1 with A = +1, -1, +1: one high clip, one low clip of three tokens
    logp = torch.log(torch.tensor([[2.0, 0.5, 1.0, 123.0]], dtype=F64))
    adv = torch.tensor([[1.0, -1.0, 1.0, 5.0]], dtype=F64)
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    _, m = ppo_clip(logp, torch.zeros(1, 4, dtype=F64), adv, mask)
    assert m["clip_frac_high"] == pytest.approx(1 / 3)
    assert m["clip_frac_low"] == pytest.approx(1 / 3)
    assert m["ratio_mean"] == pytest.approx(3.5 / 3)
    assert m["ratio_max"] == pytest.approx(2.0)
    assert m["approx_kl"] == pytest.approx((1 - math.log(2) + (-0.5 + math.log(2))) / 3)


def test_low_precision_inputs_compute_in_float32_and_extreme_ratios_stay_finite():
    logp = torch.tensor([[60.0, -60.0, 0.1]], dtype=torch.bfloat16, requires_grad=True)
    loss, m = ppo_clip(logp, torch.zeros(1, 3, dtype=torch.bfloat16), torch.tensor([-1.0]), torch.ones(1, 3))
    assert loss.dtype == torch.float32
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logp.grad.float()).all()
    assert m["ratio_max"] == pytest.approx(math.exp(20.0), rel=1e-6)  # log-ratio clamped at 20


def test_registry_and_errors():
    assert POLICY_LOSSES.get("ppo_clip") is ppo_clip
    x = torch.zeros(1, 2)
    with pytest.raises(ValueError, match="dual_clip must be > 1"):
        ppo_clip(x, x, torch.zeros(1), torch.ones(1, 2), dual_clip=1.0)
    with pytest.raises(ValueError, match="eps_low"):
        ppo_clip(x, x, torch.zeros(1), torch.ones(1, 2), eps_low=1.0)
    with pytest.raises(ValueError, match=r"advantages have shape \(3,\)"):
        ppo_clip(x, x, torch.zeros(3), torch.ones(1, 2))


def test_zero_entropy_coefficient_keeps_entropy_out_of_the_graph():
    """Entropy with coefficient 0 is logged but never backpropagated (no entropy backward cost)."""
    logp = torch.tensor([[-1.0, -2.0]], dtype=F64, requires_grad=True)
    entropy = torch.tensor([[0.5, 1.5]], dtype=F64, requires_grad=True)
    loss, metrics = ppo_clip(
        logp,
        logp.detach() - 0.1,
        torch.tensor([1.0], dtype=F64),
        torch.ones(1, 2, dtype=F64),
        entropy=entropy,
        entropy_coef=0.0,
    )
    assert metrics["entropy"] == pytest.approx(1.0)
    assert torch.autograd.grad(loss, entropy, allow_unused=True) == (None,)
