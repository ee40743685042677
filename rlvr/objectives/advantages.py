"""Advantage estimators: per-sequence advantages from rewards within prompt groups.

Shared signature (config names are registry names):

    fn(rewards: Tensor[N], group_ids: Tensor[N] int64, *, eps: float = 1e-6) -> Tensor[N]

`group_ids[i]` names the prompt that sample i answers; samples of one prompt share an id and
ids need not be contiguous or sorted. For a group g with n samples and rewards R_1..R_n:

- ``grpo``:    A_i = (R_i - mean_g) / (std_g + eps), std_g the *unbiased* sample standard
               deviation sqrt(sum_j (R_j - mean_g)^2 / (n - 1)), as torch.std and most GRPO
               implementations (TRL, verl) use.
- ``dr_grpo``: A_i = R_i - mean_g (Dr.GRPO drops the std: dividing by it up-weights groups whose
               rewards barely differ, i.e. prompts that are too easy or too hard).
- ``rloo``:    A_i = R_i - mean_{j != i} R_j = n / (n - 1) * (R_i - mean_g), the leave-one-out
               baseline (unbiased, since the baseline does not depend on sample i).

Every estimator returns exact zeros for a group whose rewards are all equal (no signal; a
floating-point mean need not equal the rewards exactly, so this is enforced, not hoped for) and
for single-sample groups (no baseline exists). Computed in float64; returned as float32, or
float64 if the rewards are float64.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from rlvr.registry import Registry

AdvantageEstimator = Callable[..., torch.Tensor]

ADVANTAGE_ESTIMATORS: Registry[AdvantageEstimator] = Registry("advantage estimator")


def register_advantage_estimator(
    name: str, *, overwrite: bool = False
) -> Callable[[AdvantageEstimator], AdvantageEstimator]:
    """Decorator: register `fn(rewards, group_ids, *, eps=1e-6) -> advantages` under `name`."""
    return ADVANTAGE_ESTIMATORS.register(name, overwrite=overwrite)


def compute_advantages(name: str, rewards: torch.Tensor, group_ids: torch.Tensor, **kwargs) -> torch.Tensor:
    """Advantages [N] from the estimator registered as `name`."""
    return ADVANTAGE_ESTIMATORS.get(name)(rewards, group_ids, **kwargs)


@dataclass(frozen=True)
class GroupStats:
    """Per-sample views of the statistics of the sample's group (all [N], float64)."""

    centered: torch.Tensor  # R_i - mean_g
    count: torch.Tensor  # n_g
    std: torch.Tensor  # unbiased std of the group (0 for n_g = 1)
    has_signal: torch.Tensor  # bool: n_g > 1 and the group's rewards are not all equal


def group_stats(rewards: torch.Tensor, group_ids: torch.Tensor) -> GroupStats:
    """Group means, counts and stds of `rewards` [N] by `group_ids` [N], broadcast back to samples."""
    if rewards.dim() != 1 or group_ids.shape != rewards.shape:
        raise ValueError(
            f"rewards and group_ids must both be [N]; got {tuple(rewards.shape)} and {tuple(group_ids.shape)}"
        )
    if group_ids.dtype.is_floating_point or group_ids.dtype == torch.bool:
        raise ValueError(f"group_ids must be an integer tensor (one id per prompt); got {group_ids.dtype}")
    r = rewards.to(torch.float64)
    _, inverse = torch.unique(group_ids, return_inverse=True)
    n_groups = int(inverse.max()) + 1 if r.numel() else 0
    zeros = torch.zeros(n_groups, dtype=torch.float64, device=r.device)
    count = zeros.index_add(0, inverse, torch.ones_like(r))
    mean = zeros.index_add(0, inverse, r) / count
    centered = r - mean[inverse]
    sq = zeros.index_add(0, inverse, centered.square())
    std = torch.sqrt(sq / (count - 1).clamp(min=1))
    hi = zeros.scatter_reduce(0, inverse, r, "amax", include_self=False)
    lo = zeros.scatter_reduce(0, inverse, r, "amin", include_self=False)
    has_signal = (count > 1) & (hi > lo)
    return GroupStats(
        centered=centered, count=count[inverse], std=std[inverse], has_signal=has_signal[inverse]
    )


def _finish(adv: torch.Tensor, stats: GroupStats, rewards: torch.Tensor) -> torch.Tensor:
    out_dtype = torch.float64 if rewards.dtype == torch.float64 else torch.float32
    return torch.where(stats.has_signal, adv, torch.zeros_like(adv)).to(out_dtype)


@register_advantage_estimator("grpo")
def grpo(rewards: torch.Tensor, group_ids: torch.Tensor, *, eps: float = 1e-6) -> torch.Tensor:
    """A_i = (R_i - mean_g) / (std_g + eps), unbiased std. [N] -> [N]."""
    s = group_stats(rewards, group_ids)
    return _finish(s.centered / (s.std + eps), s, rewards)


@register_advantage_estimator("dr_grpo")
def dr_grpo(rewards: torch.Tensor, group_ids: torch.Tensor, *, eps: float = 1e-6) -> torch.Tensor:
    """A_i = R_i - mean_g. `eps` is accepted for the shared signature and unused. [N] -> [N]."""
    s = group_stats(rewards, group_ids)
    return _finish(s.centered, s, rewards)


@register_advantage_estimator("rloo")
def rloo(rewards: torch.Tensor, group_ids: torch.Tensor, *, eps: float = 1e-6) -> torch.Tensor:
    """A_i = R_i - mean_{j != i} R_j = n/(n-1) (R_i - mean_g). `eps` unused. [N] -> [N]."""
    s = group_stats(rewards, group_ids)
    return _finish(s.centered * s.count / (s.count - 1).clamp(min=1), s, rewards)
