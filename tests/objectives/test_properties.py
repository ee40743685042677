"""Property tests: any shape, mask and log-ratio in [-50, 50] (plus garbage in padding) gives a
finite loss, finite gradients, and exactly zero gradient at masked positions."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.objectives import AGGREGATION_MODES, divergence_loss, ppo_clip

BUILTINS = [
    "alpha",
    "forward_kl",
    "js",
    "rapo",
    "reverse_kl",
    "reverse_kl_k1",
    "reverse_kl_k2",
    "reverse_kl_k3",
    "tv",
]
GARBAGE = [math.nan, math.inf, -math.inf, 1e30, -1e30]

log_ratio_values = st.one_of(st.floats(-50.0, 50.0), st.sampled_from([-50.0, 50.0, 0.0, -20.0, 20.0]))


@st.composite
def token_batches(draw):
    """(a, b, mask, rewards) with a - b in [-50, 50] on unmasked tokens and garbage elsewhere."""
    B = draw(st.integers(1, 4))
    T = draw(st.integers(1, 6))
    n = B * T
    ratios = draw(st.lists(log_ratio_values, min_size=n, max_size=n))
    base = draw(st.lists(st.floats(-30.0, 0.0), min_size=n, max_size=n))
    mask = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    junk = draw(st.lists(st.sampled_from(GARBAGE), min_size=2 * n, max_size=2 * n))
    rewards = draw(st.lists(st.floats(-1.0, 2.0), min_size=B, max_size=B))
    dtype = draw(st.sampled_from([torch.float32, torch.bfloat16]))
    m = torch.tensor(mask).view(B, T)
    b = torch.tensor(base, dtype=torch.float64).view(B, T)
    a = b + torch.tensor(ratios, dtype=torch.float64).view(B, T)
    a = torch.where(m, a, torch.tensor(junk[:n], dtype=torch.float64).view(B, T))
    b = torch.where(m, b, torch.tensor(junk[n:], dtype=torch.float64).view(B, T))
    return a.to(dtype), b.to(dtype), m.float(), torch.tensor(rewards)


def check(loss, metrics, logp, mask):
    assert torch.isfinite(loss), float(loss)
    loss.backward()
    assert torch.isfinite(logp.grad.float()).all()
    assert (logp.grad[mask == 0] == 0).all()
    assert all(math.isfinite(v) or k == "log_ratio_abs_max" for k, v in metrics.items()), metrics


@pytest.mark.parametrize("name", BUILTINS)
@settings(max_examples=25, deadline=None)
@given(batch=token_batches(), mode=st.sampled_from(AGGREGATION_MODES))
def test_divergence_loss_finite_and_masked(name, batch, mode):
    a, b, mask, rewards = batch
    # both orientations: a as the policy's log-probs, then b
    for logp, logp_ref in ((a, b), (b, a)):
        logp = logp.clone().requires_grad_()
        loss, metrics = divergence_loss(name, logp, logp_ref, mask, aggregation=mode, rewards=rewards)
        assert loss.dtype == torch.float32
        check(loss, metrics, logp, mask)


@settings(max_examples=60, deadline=None)
@given(
    batch=token_batches(),
    mode=st.sampled_from(AGGREGATION_MODES),
    per_token_adv=st.booleans(),
    dual=st.sampled_from([None, 3.0]),
    eps_high=st.sampled_from([0.2, 0.28]),
)
def test_ppo_clip_finite_and_masked(batch, mode, per_token_adv, dual, eps_high):
    a, b, mask, rewards = batch
    logp = a.clone().requires_grad_()
    adv = rewards * 10 - 5
    if per_token_adv:
        adv = torch.where(mask > 0, adv[:, None].expand_as(mask), torch.tensor(math.nan))
    entropy = torch.where(mask > 0, torch.ones_like(mask), torch.tensor(math.inf))
    loss, metrics = ppo_clip(
        logp,
        b,
        adv,
        mask,
        aggregation=mode,
        dual_clip=dual,
        eps_high=eps_high,
        entropy=entropy,
        entropy_coef=0.01,
    )
    assert loss.dtype == torch.float32
    check(loss, metrics, logp, mask)
