"""Exact expectations of a divergence over a small enumerable outcome space.

Each outcome y is treated as a one-token sequence ([K, 1] log-probs), so the library's own
orientation (`Divergence.log_ratio`) and per-token f are what gets summed.
"""

from __future__ import annotations

import torch

from rlvr.objectives import Divergence


def expectation(
    div: Divergence,
    theta: torch.Tensor,
    ref: torch.Tensor,
    *,
    fixed: bool,
    rewards: torch.Tensor | None = None,
) -> torch.Tensor:
    """sum_y p_sample(y) f(log_ratio(y)), p_sample = pi_0 or pi_theta per div.samples.

    fixed=True detaches p_sample: the gradient is then the one a training loss on fixed samples
    delivers in expectation; fixed=False differentiates the exact expectation.
    """
    logp = torch.log_softmax(theta, -1)
    logp0 = torch.log_softmax(ref, -1)
    x = div.log_ratio(logp.unsqueeze(-1), logp0.unsqueeze(-1), rewards).squeeze(-1)
    weights = (logp0 if div.samples == "reference" else logp).exp()
    if fixed:
        weights = weights.detach()
    return (weights * div.f(x)).sum()
