"""Mass-covering f-divergences on reference samples (DPH-RL's rehearsal terms).

Setting: tokens y ~ pi_0 (the reference bank), x = log pi_theta(y) - log pi_0(y) [B, T] (the
registry's samples="reference" orientation), u = e^x = pi_theta / pi_0. Each entry is a
generator g with g(1) = 0 written as f(x) = g(e^x), and

    E_{y~pi_0}[g(u)] = sum_y pi_0 g(pi_theta / pi_0) = D_g(pi_theta || pi_0).

pi_0 does not depend on theta, so the loss on fixed bank samples has exactly the gradient of the
divergence: grad E = E_pi_0[g'(u) u grad log pi_theta]. No trap here, unlike kl_estimators.py.

    name        g(u)                                   expectation
    forward_kl  u - log u - 1 (value cut at 10)        KL(pi_0 || pi_theta)   grad: (u - 1) grad log pi_theta
    js          u log u - (u + 1) log((u + 1) / 2)     2 JS(pi_theta, pi_0)   grad: u log(2u / (1 + u)) grad log pi_theta
    alpha       (u^(1-a) - (1-a) u - a) / (a (a-1))    (1 - sum pi_0^a pi_theta^(1-a)) / (a (1-a))
    tv          |u - 1| / 2                            TV = sum |pi_theta - pi_0| / 2

alpha, a in (0, 1): -> KL(pi_theta || pi_0) as a -> 0, -> KL(pi_0 || pi_theta) as a -> 1;
a = 1/2 gives 2 sum (sqrt(pi_theta) - sqrt(pi_0))^2 (4x squared Hellinger).
The formulas below are rearranged for float32 (expm1 near u = 1, no u log u - u log u
cancellation for large u); the clamp in divergence_loss keeps e^x finite.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from rlvr.objectives.divergences import register_divergence


@register_divergence("forward_kl", samples="reference", params={"value_clamp": 10.0})
def forward_kl(log_ratio: torch.Tensor, value_clamp: float | None = 10.0) -> torch.Tensor:
    """u - log u - 1 = expm1(x) - x. Expectation under pi_0: KL(pi_0 || pi_theta).

    value_clamp: per-token values above it are cut to it, with zero gradient there, as the DPH-RL
    authors' `low_var_kl` does (log-ratio clamped to +-20, then the value to [-10, 10]; the value
    is never negative, so only the upper bound acts). It caps how hard one token that pi_theta has
    nearly forgotten (u -> 0 gives -log u) or over-boosted can pull. None: no value clamp.
    """
    values = torch.expm1(log_ratio) - log_ratio
    if value_clamp is None:
        return values
    if float(value_clamp) <= 0:
        raise ValueError(f"forward_kl value_clamp must be > 0 (or null for none); got {value_clamp}")
    return values.clamp(max=float(value_clamp))


@register_divergence("js", samples="reference")
def js(log_ratio: torch.Tensor) -> torch.Tensor:
    """u log u - (u+1) log((u+1)/2). Expectation under pi_0: 2 JS(pi_theta, pi_0).

    With log(1 + u) = x + softplus(-x) the u*x terms cancel analytically:
    g = (u + 1) (log 2 - softplus(-x)) - x, which -> log 2 as u -> 0 and ~ u log 2 for large u.
    """
    return (torch.exp(log_ratio) + 1) * (math.log(2.0) - F.softplus(-log_ratio)) - log_ratio


@register_divergence("alpha", samples="reference", params={"alpha": 0.5})
def alpha_divergence(log_ratio: torch.Tensor, alpha: float) -> torch.Tensor:
    """(u^(1-a) - (1-a) u - a) / (a (a - 1)), a in (0, 1).

    Expectation under pi_0: (1 - sum_y pi_0^a pi_theta^(1-a)) / (a (1 - a)). The numerator is
    written as expm1((1-a) x) - (1-a) expm1(x) to keep precision near u = 1.
    """
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(
            f"divergence 'alpha' needs 0 < alpha < 1 (alpha -> 0 is reverse KL, -> 1 forward KL); got {alpha}"
        )
    a = float(alpha)
    return (torch.expm1((1 - a) * log_ratio) - (1 - a) * torch.expm1(log_ratio)) / (a * (a - 1))


@register_divergence("tv", samples="reference")
def total_variation(log_ratio: torch.Tensor) -> torch.Tensor:
    """|u - 1| / 2. Expectation under pi_0: TV(pi_theta, pi_0). Not differentiable at u = 1
    (torch takes gradient 0 there)."""
    return 0.5 * torch.expm1(log_ratio).abs()
