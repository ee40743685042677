"""Reverse-KL estimators KL(pi_theta || pi_0) on policy samples (Schulman's k1, k2, k3).

Setting: tokens y ~ pi_theta (rollouts), x = log pi_0(y) - log pi_theta(y) [B, T] (the
registry's samples="policy" orientation), u' = e^x = pi_0 / pi_theta. Each f maps x [B, T] to
per-token values [B, T].

    k1 = -x                 E_pi_theta[k1] = KL(pi_theta || pi_0)   unbiased, high variance, can be < 0
    k2 = x^2 / 2            E_pi_theta[k2] = E[(log pi_theta/pi_0)^2]/2  biased (= KL to second order)
    k3 = e^x - x - 1        E_pi_theta[k3] = KL(pi_theta || pi_0)   unbiased (E[e^x] = 1), always >= 0

Gradients as *losses with the samples held fixed* (how a trainer uses them: the rollout tokens
do not move with theta, so no score-function term). With grad x = -grad log pi_theta(y):

    grad E_fixed[k1] = sum_y pi_theta(y) * grad log pi_theta(y)              = sum_y grad pi_theta(y) = 0
    grad E_fixed[k2] = sum_y pi_theta(y) * (log pi_theta - log pi_0) * grad log pi_theta
                     = grad KL(pi_theta || pi_0)                             (the reverse-KL gradient)
    grad E_fixed[k3] = sum_y pi_theta(y) * (1 - pi_0/pi_theta) * grad log pi_theta
                     = -sum_y pi_0(y) grad log pi_theta(y) = grad KL(pi_0 || pi_theta)   (FORWARD KL!)

So k1 as a loss does nothing in expectation, and k3 -- the popular "low-variance KL" of GRPO --
as a loss pulls toward the forward-KL solution, not the reverse KL it reports (TRL issue #2914,
OpenRLHF PR #1309). The default `reverse_kl` reports k3's value and delivers k2's gradient:
k3.detach() + k2 - k2.detach() (the last two cancel exactly in the forward pass).
"""

from __future__ import annotations

import torch

from rlvr.objectives.divergences import register_divergence


@register_divergence("reverse_kl_k1", samples="policy")
def reverse_kl_k1(log_ratio: torch.Tensor) -> torch.Tensor:
    """k1 = -x = log pi_theta - log pi_0. Loss gradient with samples fixed: 0 in expectation."""
    return -log_ratio


@register_divergence("reverse_kl_k2", samples="policy")
def reverse_kl_k2(log_ratio: torch.Tensor) -> torch.Tensor:
    """k2 = x^2 / 2. Loss gradient with samples fixed: grad KL(pi_theta || pi_0)."""
    return 0.5 * log_ratio.square()


@register_divergence("reverse_kl_k3", samples="policy")
def reverse_kl_k3(log_ratio: torch.Tensor) -> torch.Tensor:
    """k3 = e^x - x - 1 (expm1 keeps it accurate near 0). Loss gradient with samples fixed:
    grad KL(pi_0 || pi_theta), the forward KL."""
    return torch.expm1(log_ratio) - log_ratio


@register_divergence("reverse_kl", samples="policy")
def reverse_kl(log_ratio: torch.Tensor) -> torch.Tensor:
    """Default reverse-KL penalty: value k3 (unbiased, >= 0), gradient k2's (grad KL(pi_theta || pi_0))."""
    k2 = reverse_kl_k2(log_ratio)
    return reverse_kl_k3(log_ratio).detach() + (k2 - k2.detach())
