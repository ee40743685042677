"""Registration API, parameter binding, errors, and the divergence_loss helper on hand-made tokens."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from rlvr.objectives import aggregate, divergence_loss, get_divergence, register_divergence
from rlvr.objectives.aggregation import AGGREGATION_MODES

from .closed_forms import grad, random_logits, squared_hellinger_sum
from .outcomes import expectation


def test_parameterized_divergence_binds_to_a_one_argument_function():
    div = get_divergence("alpha", alpha=0.3)
    assert div.name == "alpha" and div.samples == "reference" and div.params["alpha"] == 0.3
    x = torch.linspace(-3, 3, 13, dtype=torch.float64)
    u = x.exp()
    expected = (u.pow(0.7) - 0.7 * u - 0.3) / (0.3 * (0.3 - 1))
    torch.testing.assert_close(div.f(x), expected, rtol=1e-12, atol=1e-15)
    assert get_divergence("alpha").params["alpha"] == 0.5  # registered default


def test_unknown_parameter_names_the_divergence_and_accepted_params():
    with pytest.raises(TypeError, match=r"'alpha'.*\['beta'\].*accepts: alpha"):
        get_divergence("alpha", beta=0.3)
    with pytest.raises(TypeError, match=r"'js'.*accepts: none"):
        get_divergence("js", alpha=0.3)


def test_unknown_name_lists_registered():
    with pytest.raises(KeyError, match="forward_kl"):
        get_divergence("no_such_divergence")


@pytest.mark.parametrize("a", [0.0, 1.0, 1.5, -0.1])
def test_alpha_out_of_range_fails_at_construction(a):
    with pytest.raises(ValueError, match="0 < alpha < 1"):
        get_divergence("alpha", alpha=a)


def test_divergence_is_frozen():
    div = get_divergence("js")
    with pytest.raises(dataclasses.FrozenInstanceError):
        div.samples = "policy"


def test_register_new_divergence_squared_hellinger():
    # the README's worked example
    @register_divergence("test_hellinger", samples="reference")
    def hellinger(log_ratio):
        return torch.expm1(0.5 * log_ratio).square()

    theta, ref = random_logits(11)
    p, p0 = torch.softmax(theta, -1), torch.softmax(ref, -1)
    div = get_divergence("test_hellinger")
    value = expectation(div, theta, ref, fixed=True)
    closed = squared_hellinger_sum(p, p0)
    torch.testing.assert_close(value, closed, rtol=1e-10, atol=0)
    torch.testing.assert_close(grad(value, theta), grad(closed, theta), rtol=1e-9, atol=1e-12)
    loss, _ = divergence_loss("test_hellinger", torch.zeros(1, 2), torch.zeros(1, 2), torch.ones(1, 2))
    assert float(loss) == 0.0


def test_register_parameterized_divergence():
    @register_divergence("test_scaled_k2", samples="policy", params={"scale": 1.0})
    def scaled(log_ratio, scale):
        return scale * 0.5 * log_ratio.square()

    x = torch.tensor([2.0])
    assert float(get_divergence("test_scaled_k2").f(x)) == 2.0
    assert float(get_divergence("test_scaled_k2", scale=3.0).f(x)) == 6.0


def test_registration_errors():
    with pytest.raises(ValueError, match="samples"):
        register_divergence("test_bad_side", samples="both")
    with pytest.raises(TypeError, match="not keyword arguments"):

        @register_divergence("test_bad_params", samples="reference", params={"beta": 1.0})
        def f(log_ratio):
            return log_ratio

    with pytest.raises(ValueError, match="already registered"):
        register_divergence("forward_kl", samples="reference")(lambda x: x)


def test_nonzero_at_identity_is_rejected_when_built():
    @register_divergence("test_offset", samples="reference")
    def offset(log_ratio):
        return log_ratio.square() + 1.0

    with pytest.raises(ValueError, match="f\\(0\\) = 1"):
        get_divergence("test_offset")


# ---- divergence_loss on hand-made tokens ----

LOGP = [[-1.0, -2.0, -0.5], [-3.0, -0.2, -1.0]]
LOGP_REF = [[-1.5, -1.0, -0.5], [-2.0, -0.7, -4.0]]
MASK = [[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]


def tensors(dtype=torch.float64):
    logp = torch.tensor(LOGP, dtype=dtype, requires_grad=True)
    return logp, torch.tensor(LOGP_REF, dtype=dtype), torch.tensor(MASK, dtype=dtype)


@pytest.mark.parametrize("mode", AGGREGATION_MODES)
def test_reference_side_orientation_and_aggregation(mode):
    logp, logp_ref, mask = tensors()
    unclamped = get_divergence("forward_kl", value_clamp=None)
    loss, metrics = divergence_loss(unclamped, logp, logp_ref, mask, aggregation=mode, aggregation_norm=4.0)
    x = logp.detach() - logp_ref  # pi_theta / pi_0 on bank samples
    values = x.exp() - x - 1
    torch.testing.assert_close(loss, aggregate(values, mask, mode, norm=4.0), rtol=1e-12, atol=0)
    assert metrics["value"] == pytest.approx(float((values * mask).sum() / 5))
    assert metrics["log_ratio_mean"] == pytest.approx(float((x * mask).sum() / 5))
    assert metrics["log_ratio_abs_max"] == pytest.approx(3.0)
    assert metrics["clamp_frac"] == 0.0


def test_policy_side_orientation():
    logp, logp_ref, mask = tensors()
    loss, _ = divergence_loss("reverse_kl_k1", logp, logp_ref, mask)
    expected = ((logp.detach() - logp_ref) * mask).sum() / 5  # k1 = log pi_theta - log pi_0
    torch.testing.assert_close(loss, expected, rtol=1e-12, atol=0)
    loss.backward()
    torch.testing.assert_close(logp.grad, mask / 5, rtol=1e-12, atol=0)


def test_default_reverse_kl_loss_value_and_gradient():
    logp, logp_ref, mask = tensors()
    loss, _ = divergence_loss("reverse_kl", logp, logp_ref, mask)
    x = logp_ref - logp.detach()
    torch.testing.assert_close(loss, ((x.exp() - x - 1) * mask).sum() / 5, rtol=1e-12, atol=0)
    loss.backward()
    # k2's gradient: d/dlogp (x^2 / 2) = -x
    torch.testing.assert_close(logp.grad, -x * mask / 5, rtol=1e-12, atol=0)


def test_clamp_bounds_value_and_cuts_gradient():
    logp = torch.tensor([[50.0, 0.3, -50.0]], dtype=torch.float64, requires_grad=True)
    logp_ref = torch.zeros(1, 3, dtype=torch.float64)
    mask = torch.ones(1, 3, dtype=torch.float64)
    loss, metrics = divergence_loss(get_divergence("forward_kl", value_clamp=None), logp, logp_ref, mask)
    x = torch.tensor([20.0, 0.3, -20.0], dtype=torch.float64)
    torch.testing.assert_close(loss, (x.exp() - x - 1).mean(), rtol=1e-12, atol=0)
    assert metrics["clamp_frac"] == pytest.approx(2 / 3)
    assert metrics["log_ratio_abs_max"] == 50.0
    loss.backward()
    assert logp.grad[0, 0] == 0 and logp.grad[0, 2] == 0 and logp.grad[0, 1] != 0


def dph_low_var_kl(pi0_logp: torch.Tensor, logp: torch.Tensor) -> torch.Tensor:
    """DPH-RL's forward-KL token values, restated from their verl fork's `kl_penalty(low_var_kl)`
    called with the bank's pi_0 log-probs as `logprob` and the policy's as `ref_logprob`."""
    kl = (logp - pi0_logp).clamp(-20, 20)
    return (kl.exp() - kl - 1).clamp(-10, 10)


def test_forward_kl_matches_dph_rl_low_var_kl_on_a_fixed_batch():
    # Ratios on both sides of the value clamp (x = 3 gives e^3 - 4 = 16.1 > 10), the log-ratio
    # clamp (|x| > 20) and ordinary tokens.
    logp = torch.tensor(
        [[-1.0, 2.5, -0.5, 30.0], [-3.0, -0.2, -15.0, -1.0]], dtype=torch.float64, requires_grad=True
    )
    logp_ref = torch.tensor([[-1.5, -0.5, -0.5, 0.0], [-2.0, -0.7, -1.0, -1.2]], dtype=torch.float64)
    mask = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 0.0]], dtype=torch.float64)
    loss, _ = divergence_loss("forward_kl", logp, logp_ref, mask)
    reference = dph_low_var_kl(logp_ref, logp)
    torch.testing.assert_close(loss, (reference * mask).sum() / mask.sum(), rtol=1e-12, atol=0)
    (grad,) = torch.autograd.grad(loss, logp)
    (expected,) = torch.autograd.grad((dph_low_var_kl(logp_ref, logp) * mask).sum() / mask.sum(), logp)
    torch.testing.assert_close(grad, expected, rtol=1e-12, atol=0)
    # the clamped tokens (value 16.1 at x=3, -log u = 14 at x=-14, x=30 past the log-ratio clamp) pull nothing
    assert grad[0, 1] == 0 and grad[1, 2] == 0 and grad[0, 3] == 0 and grad[0, 0] != 0
    # value_clamp=None restores the plain estimator
    plain, _ = divergence_loss(get_divergence("forward_kl", value_clamp=None), logp, logp_ref, mask)
    assert float(plain.detach()) > float(loss.detach())
    with pytest.raises(ValueError, match="value_clamp must be > 0"):
        get_divergence("forward_kl", value_clamp=0)


def test_garbage_in_masked_positions_does_not_leak():
    logp, logp_ref, mask = tensors()
    clean, _ = divergence_loss("js", logp, logp_ref, mask)
    dirty_logp = logp.detach().clone()
    dirty_logp[0, 2] = float("nan")
    dirty_logp = dirty_logp.requires_grad_()
    dirty_ref = logp_ref.clone()
    dirty_ref[0, 2] = -float("inf")
    dirty, metrics = divergence_loss("js", dirty_logp, dirty_ref, mask)
    torch.testing.assert_close(dirty, clean.detach(), rtol=0, atol=0)
    dirty.backward()
    assert torch.isfinite(dirty_logp.grad).all() and dirty_logp.grad[0, 2] == 0
    assert all(v == v for v in metrics.values())  # no NaN metric


def test_low_precision_inputs_compute_in_float32():
    logp, logp_ref, mask = tensors(torch.bfloat16)
    loss, _ = divergence_loss("forward_kl", logp, logp_ref, mask)
    assert loss.dtype == torch.float32
    ref64, _ = divergence_loss("forward_kl", *(t.detach().double() for t in (logp, logp_ref, mask)))
    torch.testing.assert_close(loss.double(), ref64, rtol=1e-6, atol=0)


def test_shape_errors_say_what_was_expected():
    logp, logp_ref, mask = tensors()
    with pytest.raises(ValueError, match=r"mask has shape \(3,\)"):
        divergence_loss("js", logp, logp_ref, mask[0])


def test_user_functions_never_see_masked_garbage():
    seen = []

    def transform(logp_ref, rewards):
        seen.append(bool(torch.isfinite(logp_ref).all()))
        return logp_ref

    @register_divergence("test_sees_inputs", samples="policy", reference_transform=transform)
    def sees(log_ratio):
        seen.append(bool(torch.isfinite(log_ratio).all()))
        return log_ratio.square()

    logp = torch.tensor([[-1.0, float("nan")]], requires_grad=True)
    logp_ref = torch.tensor([[-2.0, -float("inf")]])
    loss, _ = divergence_loss(
        "test_sees_inputs", logp, logp_ref, torch.tensor([[1.0, 0.0]]), rewards=torch.ones(1)
    )
    loss.backward()
    assert seen and all(seen)
    assert float(loss.detach()) == 1.0 and logp.grad.tolist() == [[2.0, 0.0]]
