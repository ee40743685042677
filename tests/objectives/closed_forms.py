"""Closed forms of divergences between categorical distributions, written from the probabilities
directly (never through the library's per-token f), so that tests compare two derivations."""

from __future__ import annotations

import torch


def random_logits(seed: int, k: int = 7, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(policy logits with requires_grad, reference logits) in float64 over k outcomes."""
    g = torch.Generator().manual_seed(seed)
    theta = (scale * torch.randn(k, generator=g, dtype=torch.float64)).requires_grad_()
    ref = scale * torch.randn(k, generator=g, dtype=torch.float64)
    return theta, ref


def kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) = sum p log(p / q)."""
    return (p * (p.log() - q.log())).sum()


def js_times_two(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """2 JS(p, q) = KL(p || m) + KL(q || m), m = (p + q) / 2."""
    m = (p + q) / 2
    return kl(p, m) + kl(q, m)


def alpha_divergence(p_theta: torch.Tensor, p0: torch.Tensor, a: float) -> torch.Tensor:
    """(1 - sum p0^a p_theta^(1-a)) / (a (1-a)) (Amari alpha-divergence, -> KL(p_theta||p0) as a -> 0)."""
    return (1 - (p0.pow(a) * p_theta.pow(1 - a)).sum()) / (a * (1 - a))


def total_variation(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return 0.5 * (p - q).abs().sum()


def squared_hellinger_sum(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """sum (sqrt p - sqrt q)^2 (twice the usual squared Hellinger distance)."""
    return (p.sqrt() - q.sqrt()).square().sum()


def half_mean_square_log_ratio(weights: torch.Tensor, p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """(1/2) sum weights (log p - log q)^2 -- k2's (biased) expectation with weights = p."""
    return 0.5 * (weights * (p.log() - q.log()).square()).sum()


def grad(value: torch.Tensor, wrt: torch.Tensor) -> torch.Tensor:
    (g,) = torch.autograd.grad(value, wrt, retain_graph=True, allow_unused=True)
    return torch.zeros_like(wrt) if g is None else g
