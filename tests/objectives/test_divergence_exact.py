"""Every built-in divergence against closed forms on a 7-outcome categorical space, in float64.

Two gradients are checked: of the exact expectation (is f a correct estimator of its value?) and
of the loss with the samples held fixed (what training actually applies).
"""

from __future__ import annotations

import pytest
import torch

from rlvr.objectives import get_divergence

from .closed_forms import (
    alpha_divergence,
    grad,
    half_mean_square_log_ratio,
    js_times_two,
    kl,
    random_logits,
    total_variation,
)
from .outcomes import expectation

SEEDS = [0, 1, 2]


def probs(theta, ref):
    return torch.softmax(theta, -1), torch.softmax(ref, -1)


# name -> closed form of E_{p_sample}[f] as a function of (p_theta, p0)
REFERENCE_CLOSED_FORMS = {
    "forward_kl": lambda p, p0: kl(p0, p),
    "js": lambda p, p0: js_times_two(p, p0),
    "alpha": lambda p, p0: alpha_divergence(p, p0, 0.5),
    "tv": lambda p, p0: total_variation(p, p0),
}
POLICY_CLOSED_FORMS = {
    "reverse_kl_k1": lambda p, p0: kl(p, p0),
    "reverse_kl_k2": lambda p, p0: half_mean_square_log_ratio(p, p, p0),
    "reverse_kl_k3": lambda p, p0: kl(p, p0),
    "reverse_kl": lambda p, p0: kl(p, p0),
}
# gradient of the loss on fixed policy samples, as the gradient of this closed form
POLICY_FIXED_SAMPLE_GRADIENT_OF = {
    "reverse_kl_k1": lambda p, p0: 0.0 * p.sum(),  # zero
    "reverse_kl_k2": lambda p, p0: kl(p, p0),  # reverse KL
    "reverse_kl_k3": lambda p, p0: kl(p0, p),  # FORWARD KL (the trap)
    "reverse_kl": lambda p, p0: kl(p, p0),  # reverse KL (the default fixes the trap)
}


def test_builtin_sides():
    for name in REFERENCE_CLOSED_FORMS:
        assert get_divergence(name).samples == "reference"
    for name in POLICY_CLOSED_FORMS:
        assert get_divergence(name).samples == "policy"
    assert get_divergence("rapo").samples == "policy"


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(REFERENCE_CLOSED_FORMS))
def test_reference_divergence_value_and_gradients(name, seed):
    theta, ref = random_logits(seed)
    div = get_divergence(name)
    closed = REFERENCE_CLOSED_FORMS[name](*probs(theta, ref))
    exact = expectation(div, theta, ref, fixed=False)
    fixed = expectation(div, theta, ref, fixed=True)
    torch.testing.assert_close(exact, closed, rtol=1e-10, atol=1e-12)
    assert closed > 1e-3  # the check is not vacuous
    g_closed = grad(closed, theta)
    assert g_closed.abs().max() > 1e-3
    torch.testing.assert_close(grad(exact, theta), g_closed, rtol=1e-9, atol=1e-12)
    # pi_0 does not depend on theta: the fixed-sample loss has the divergence's gradient
    torch.testing.assert_close(grad(fixed, theta), g_closed, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(POLICY_CLOSED_FORMS))
def test_policy_divergence_value(name, seed):
    theta, ref = random_logits(seed)
    p, p0 = probs(theta, ref)
    exact = expectation(get_divergence(name), theta, ref, fixed=False)
    torch.testing.assert_close(exact, POLICY_CLOSED_FORMS[name](p, p0), rtol=1e-10, atol=1e-12)


def test_k2_is_biased():
    theta, ref = random_logits(0, scale=2.0)
    p, p0 = probs(theta, ref)
    k2 = expectation(get_divergence("reverse_kl_k2"), theta, ref, fixed=False)
    assert abs(float((k2 - kl(p, p0)).detach())) > 1e-2


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", ["reverse_kl_k1", "reverse_kl_k2", "reverse_kl_k3"])
def test_policy_estimator_exact_expectation_gradient(name, seed):
    # reverse_kl is left out on purpose: its value (k3) and its gradient path (k2) are decoupled,
    # so differentiating through the sampling distribution mixes the two by design.
    theta, ref = random_logits(seed)
    exact = expectation(get_divergence(name), theta, ref, fixed=False)
    closed = POLICY_CLOSED_FORMS[name](*probs(theta, ref))
    torch.testing.assert_close(grad(exact, theta), grad(closed, theta), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(POLICY_FIXED_SAMPLE_GRADIENT_OF))
def test_policy_loss_gradient_with_samples_fixed(name, seed):
    theta, ref = random_logits(seed)
    fixed = expectation(get_divergence(name), theta, ref, fixed=True)
    target = grad(POLICY_FIXED_SAMPLE_GRADIENT_OF[name](*probs(theta, ref)), theta)
    torch.testing.assert_close(grad(fixed, theta), target, rtol=1e-9, atol=1e-12)


def test_k3_fixed_gradient_is_not_the_reverse_kl_gradient():
    theta, ref = random_logits(3, scale=1.5)
    p, p0 = probs(theta, ref)
    fixed = expectation(get_divergence("reverse_kl_k3"), theta, ref, fixed=True)
    assert (grad(fixed, theta) - grad(kl(p, p0), theta)).abs().max() > 1e-2


def test_reverse_kl_default_reports_k3_value():
    torch.manual_seed(0)
    x = torch.randn(50, dtype=torch.float64)
    torch.testing.assert_close(get_divergence("reverse_kl").f(x), torch.expm1(x) - x, rtol=0, atol=0)


@pytest.mark.parametrize("a", [0.1, 0.3, 0.5, 0.9])
def test_alpha_parameterized(a):
    theta, ref = random_logits(4)
    div = get_divergence("alpha", alpha=a)
    closed = alpha_divergence(*probs(theta, ref), a)
    exact = expectation(div, theta, ref, fixed=True)
    torch.testing.assert_close(exact, closed, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad(exact, theta), grad(closed, theta), rtol=1e-9, atol=1e-12)


def test_alpha_limits_orient_the_divergence():
    theta, ref = random_logits(5)
    p, p0 = probs(theta, ref)
    near0 = expectation(get_divergence("alpha", alpha=1e-5), theta, ref, fixed=False)
    near1 = expectation(get_divergence("alpha", alpha=1 - 1e-5), theta, ref, fixed=False)
    torch.testing.assert_close(near0, kl(p, p0), rtol=1e-3, atol=0)
    torch.testing.assert_close(near1, kl(p0, p), rtol=1e-3, atol=0)


def test_alpha_half_is_four_times_squared_hellinger():
    theta, ref = random_logits(6)
    p, p0 = probs(theta, ref)
    exact = expectation(get_divergence("alpha", alpha=0.5), theta, ref, fixed=False)
    torch.testing.assert_close(exact, 2 * (p.sqrt() - p0.sqrt()).square().sum(), rtol=1e-10, atol=0)


ALL_BUILTINS = sorted(REFERENCE_CLOSED_FORMS) + sorted(POLICY_CLOSED_FORMS) + ["rapo"]


@pytest.mark.parametrize("name", ALL_BUILTINS)
def test_identical_policies_give_zero_and_zero_gradient(name):
    theta, _ = random_logits(7)
    ref = theta.detach().clone()
    div = get_divergence(name)
    rewards = torch.ones(theta.shape[0], dtype=torch.float64)  # rapo: phi(1) = 1, so pi_hat = pi_0
    for fixed in (False, True):
        value = expectation(div, theta, ref, fixed=fixed, rewards=rewards)
        assert abs(float(value.detach())) < 1e-12
        assert grad(value, theta).abs().max() < 1e-12


# Monte Carlo: sampled estimates agree with the closed forms within 5 standard errors.
MC_CLOSED_FORMS = {**REFERENCE_CLOSED_FORMS, **POLICY_CLOSED_FORMS}


@pytest.mark.parametrize("name", sorted(MC_CLOSED_FORMS))
def test_monte_carlo_converges_to_closed_form(name):
    theta, ref = random_logits(8)
    div = get_divergence(name)
    with torch.no_grad():
        p, p0 = probs(theta, ref)
        sampler = p0 if div.samples == "reference" else p
        idx = torch.multinomial(sampler, 20_000, replacement=True, generator=torch.Generator().manual_seed(9))
        x = div.log_ratio(p.log()[idx], p0.log()[idx])
        values = div.f(x)
        mean, se = values.mean(), values.std() / values.numel() ** 0.5
        closed = MC_CLOSED_FORMS[name](p, p0)
    assert se > 0
    assert abs(float(mean - closed)) < 5 * float(se), (float(mean), float(closed), float(se))
