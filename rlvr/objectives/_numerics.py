"""Small numeric helpers shared by the objectives (dtype policy and masked metrics)."""

from __future__ import annotations

import torch


def compute_dtype(*tensors: torch.Tensor) -> torch.dtype:
    """float32, or float64 when any input is float64.

    bf16/fp16 log-probs lose too much precision in exp() and in differences of nearly equal
    log-probs, so everything is upcast to float32; float64 stays float64 so that tests against
    closed forms can be exact.
    """
    return torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32


def check_per_token(name: str, x: torch.Tensor, shape: torch.Size) -> None:
    if x.shape != shape:
        raise ValueError(
            f"{name} has shape {tuple(x.shape)}; expected [B, T] = {tuple(shape)} (same as logp)"
        )


@torch.no_grad()
def masked_mean(x: torch.Tensor, valid: torch.Tensor) -> float:
    """Mean of x over the True entries of `valid`; 0.0 when there are none (metrics must not be NaN)."""
    n = int(valid.sum())
    return float(torch.where(valid, x, torch.zeros_like(x)).sum() / n) if n else 0.0


@torch.no_grad()
def masked_max(x: torch.Tensor, valid: torch.Tensor) -> float:
    """Max of x over the True entries of `valid`; 0.0 when there are none."""
    if not bool(valid.any()):
        return 0.0
    return float(torch.where(valid, x, torch.full_like(x, -torch.inf)).max())
