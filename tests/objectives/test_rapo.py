"""RAPO: forward KL to pi_hat ∝ pi_0^phi(r), on policy samples, against closed forms (float64)."""

from __future__ import annotations

import math

import pytest
import torch

from rlvr.objectives import divergence_loss, get_divergence

from .closed_forms import grad, half_mean_square_log_ratio, kl, random_logits
from .outcomes import expectation

K = 7


def setup(seed=0):
    theta, ref = random_logits(seed, k=K)
    return theta, ref, torch.softmax(theta, -1), torch.softmax(ref, -1)


@pytest.mark.parametrize("seed", [0, 1])
def test_phi_one_is_forward_kl_to_pi0(seed):
    theta, ref, p, p0 = setup(seed)
    rewards = torch.rand(K, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    div = get_divergence("rapo", phi="one")
    # gradient="kl" decouples value and gradient path (like reverse_kl), so the gradient *through
    # the sampling distribution* is checked on the plain estimator, whose value is the same.
    plain = get_divergence("rapo", phi="one", gradient="estimator")
    exact = expectation(plain, theta, ref, fixed=False, rewards=rewards)
    fixed = expectation(div, theta, ref, fixed=True, rewards=rewards)
    torch.testing.assert_close(exact, kl(p0, p), rtol=1e-10, atol=0)
    torch.testing.assert_close(
        expectation(div, theta, ref, fixed=False, rewards=rewards), exact, rtol=1e-12, atol=0
    )
    g = grad(kl(p0, p), theta)
    torch.testing.assert_close(grad(exact, theta), g, rtol=1e-9, atol=1e-12)
    # default gradient="kl": on fixed samples the loss has the forward-KL gradient
    torch.testing.assert_close(grad(fixed, theta), g, rtol=1e-9, atol=1e-12)


def test_phi_one_estimator_gradient_is_half_mean_square_log_ratio():
    theta, ref, p, p0 = setup(2)
    rewards = torch.zeros(K, dtype=torch.float64)
    div = get_divergence("rapo", phi="one", gradient="estimator")
    fixed = expectation(div, theta, ref, fixed=True, rewards=rewards)
    torch.testing.assert_close(fixed, kl(p0, p).detach(), rtol=1e-10, atol=0)  # same value
    target = grad(half_mean_square_log_ratio(p0, p, p0), theta)
    torch.testing.assert_close(grad(fixed, theta), target, rtol=1e-9, atol=1e-12)
    # ... which is not the forward-KL gradient away from pi_theta = pi_0
    assert (grad(fixed, theta) - grad(kl(p0, p), theta)).abs().max() > 1e-3


def test_phi_zero_pulls_toward_uniform_scaled_by_outcome_count():
    theta, ref, p, _ = setup(3)
    div = get_divergence("rapo", phi="zero")
    rewards = torch.ones(K, dtype=torch.float64)
    exact = expectation(div, theta, ref, fixed=False, rewards=rewards)
    fixed = expectation(div, theta, ref, fixed=True, rewards=rewards)
    uniform = torch.full((K,), 1.0 / K, dtype=torch.float64)
    # pi_hat = 1 per outcome (mass Z = K): sum_y -log p(y) - K + 1 = K KL(U || p) + K log K - K + 1
    torch.testing.assert_close(exact, -p.log().sum() - K + 1, rtol=1e-10, atol=0)
    torch.testing.assert_close(exact, K * kl(uniform, p) + K * math.log(K) - K + 1, rtol=1e-10, atol=0)
    torch.testing.assert_close(grad(fixed, theta), K * grad(kl(uniform, p), theta), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", [4, 5])
def test_reward_reweighted_reference_generalized_kl(seed):
    theta, ref, p, p0 = setup(seed)
    rewards = torch.rand(K, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    div = get_divergence("rapo")  # phi = clamp(r, 0, 1) = r here
    exact = expectation(
        get_divergence("rapo", gradient="estimator"), theta, ref, fixed=False, rewards=rewards
    )
    fixed = expectation(div, theta, ref, fixed=True, rewards=rewards)
    p_hat = p0.pow(rewards)  # unnormalized
    z = p_hat.sum()
    p_bar = p_hat / z
    assert z > 1
    generalized = (p_hat * (p_hat.log() - p.log())).sum() - z + 1
    torch.testing.assert_close(exact, generalized, rtol=1e-10, atol=0)
    torch.testing.assert_close(exact, z * kl(p_bar, p) + z * z.log() - z + 1, rtol=1e-10, atol=0)
    g = z * grad(kl(p_bar, p), theta)
    torch.testing.assert_close(grad(exact, theta), g, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(grad(fixed, theta), g, rtol=1e-9, atol=1e-12)


def test_callable_phi_is_clamped_into_unit_interval():
    theta, ref, p, p0 = setup(6)
    rewards = torch.zeros(K, dtype=torch.float64)
    above = get_divergence("rapo", phi=lambda r: r + 5.0)  # clamps to 1: pi_hat = pi_0
    torch.testing.assert_close(
        expectation(above, theta, ref, fixed=False, rewards=rewards), kl(p0, p), rtol=1e-10, atol=0
    )


def test_rapo_needs_rewards_and_valid_options():
    logp = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="rewards"):
        divergence_loss("rapo", logp, logp, torch.ones(2, 3))
    with pytest.raises(ValueError, match="rewards"):
        divergence_loss("rapo", logp, logp, torch.ones(2, 3), rewards=torch.ones(3))
    with pytest.raises(ValueError, match="phi"):
        get_divergence("rapo", phi="nope")
    with pytest.raises(ValueError, match="gradient"):
        get_divergence("rapo", gradient="nope")


def test_rapo_through_divergence_loss():
    # per token: x = phi(r) * logp_ref - logp, value x e^x - e^x + 1
    logp = torch.tensor([[-1.0, -2.0], [-0.5, -3.0]], dtype=torch.float64, requires_grad=True)
    logp_ref = torch.tensor([[-1.5, -1.0], [-2.0, -0.1]], dtype=torch.float64)
    rewards = torch.tensor([1.0, 0.25], dtype=torch.float64)
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    loss, metrics = divergence_loss("rapo", logp, logp_ref, mask, rewards=rewards)
    x = rewards[:, None] * logp_ref - logp.detach()
    v = x * x.exp() - x.exp() + 1
    expected = (v * mask).sum() / 3
    torch.testing.assert_close(loss, expected, rtol=1e-12, atol=0)
    assert metrics["value"] == pytest.approx(float(expected))
    loss.backward()
    # default gradient: d/dlogp of (e^x - x - 1) = -(e^x - 1), token-mean over 3 tokens
    torch.testing.assert_close(logp.grad, -(x.exp() - 1) * mask / 3, rtol=1e-12, atol=0)
