"""Turn generations + verifier results into the learner's rollout TokenBatch and reward metrics."""

from __future__ import annotations

from collections import Counter

import torch

from rlvr.batch import TokenBatch
from rlvr.objectives import compute_advantages
from rlvr.rollout.types import generations_to_batch


def build_rollout_batch(
    generations,
    results,
    *,
    advantage: str,
    pad_id: int,
    filter_zero_advantage_groups: bool = False,
    advantage_eps: float = 1e-6,
) -> tuple[TokenBatch | None, dict[str, float]]:
    """The rollout batch (tensors: logp_old, advantages, rewards) and metrics of the whole rollout.

    Groups are the samples of one prompt (`Generation.prompt_index`). With
    `filter_zero_advantage_groups` (DAPO's dynamic sampling), groups whose rewards are all equal are
    dropped: they carry no policy-gradient signal. Returns (None, metrics) if nothing is left.
    """
    rewards = torch.tensor([r.score for r in results], dtype=torch.float32)
    group_ids = torch.tensor([g.prompt_index for g in generations], dtype=torch.long)
    advantages = compute_advantages(advantage, rewards, group_ids, eps=advantage_eps)
    metrics = reward_metrics(generations, results)

    keep = torch.ones(len(generations), dtype=torch.bool)
    if filter_zero_advantage_groups:
        for gid in group_ids.unique():
            members = group_ids == gid
            if rewards[members].max() == rewards[members].min():
                keep &= ~members
        metrics["rollout/kept_fraction"] = float(keep.float().mean())
    if not keep.any():
        return None, metrics
    idx = keep.nonzero().flatten().tolist()
    batch = generations_to_batch([generations[i] for i in idx], pad_id)
    batch.tensors["advantages"] = advantages[keep]
    batch.tensors["rewards"] = rewards[keep]
    return batch, metrics


def reward_metrics(generations, results) -> dict[str, float]:
    n = len(results)
    lengths = torch.tensor([len(g.token_ids) for g in generations], dtype=torch.float32)
    scores = torch.tensor([r.score for r in results], dtype=torch.float32)
    m = {
        "reward/mean": float(scores.mean()),
        "reward/std": float(scores.std()) if n > 1 else 0.0,
        "reward/accuracy": sum(r.correct for r in results) / n,
        "response/length_mean": float(lengths.mean()),
        "response/length_max": float(lengths.max()),
        "response/truncated_fraction": sum(g.finish_reason == "length" for g in generations) / n,
    }
    for reason, count in Counter(str(r.reason) for r in results).items():
        m[f"reward/reason_{reason}"] = count / n
    # Share of prompts with at least one correct sample: the on-the-fly Pass@n of the rollout.
    by_prompt: dict[int, bool] = {}
    for g, r in zip(generations, results, strict=True):
        by_prompt[g.prompt_index] = by_prompt.get(g.prompt_index, False) or r.correct
    m["reward/prompt_solved_fraction"] = sum(by_prompt.values()) / max(1, len(by_prompt))
    return m
