"""Splitting a step's sources into micro-batches, and running all sources in one forward.

A step trains on several named sources at once (e.g. "rollout" and "bank"); the loss needs all of
them per micro-step. Each source is split into the same number of micro-batches (set by the
largest source and the micro-batch size), and one micro-step stacks its sources' rows into a
single padded batch so the DeepSpeed engine sees exactly one forward and one backward per
micro-step, which is the pattern its ZeRO hooks and backward bookkeeping are built for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from rlvr.batch import TokenBatch


def num_micro_batches(batches: dict[str, TokenBatch], micro_batch_size: int) -> int:
    if not batches:
        raise ValueError("train_step got no batches; pass at least one source, e.g. {'rollout': batch}")
    if micro_batch_size < 1:
        raise ValueError(f"micro_batch_size must be >= 1, got {micro_batch_size}")
    return max(math.ceil(len(b) / micro_batch_size) for b in batches.values())


def plan_micro_batches(batches: dict[str, TokenBatch], micro_batch_size: int) -> list[dict[str, TokenBatch]]:
    """Split every source into n near-equal contiguous micro-batches, n from the largest source.

    A smaller source gets proportionally smaller micro-batches (a 16-row bank next to 64 rollouts
    at micro-batch size 8 gives 8 micro-batches of 8 rollouts and 2 bank rows), so every micro-step
    sees every source and per-source losses keep their relative weight.
    """
    n = num_micro_batches(batches, micro_batch_size)
    for name, b in batches.items():
        if len(b) < n:
            raise ValueError(
                f"source {name!r} has {len(b)} rows but the step has {n} micro-batches (largest source / "
                f"micro_batch_size={micro_batch_size}); give it at least {n} rows or raise micro_batch_size"
            )
    plans: list[dict[str, TokenBatch]] = [{} for _ in range(n)]
    for name, b in batches.items():
        for i, rows in enumerate(torch.arange(len(b)).tensor_split(n)):
            plans[i][name] = b.select(slice(int(rows[0]), int(rows[-1]) + 1)).trim()
    return plans


def plan_separate_micro_batches(
    batches: dict[str, TokenBatch], micro_batch_size: int
) -> list[tuple[dict[str, TokenBatch], float]]:
    """Micro-batches of one source each, with the weight of each micro-batch's loss in the step.

    Each source is split on its own into ceil(rows / micro_batch_size) near-equal micro-batches
    (rollouts first, in `batches` order). Weight = the micro-batch's rows / all rows of the step:
    when every micro-batch is full this is 1 / num_micro, the DPH-RL authors' verl fork (every
    micro-batch's own token-mean weighs the same); a smaller bank micro-batch weighs less in
    proportion, so the divergence's effective weight stays coef x bank rows / rollout rows.
    """
    num_micro_batches(batches, micro_batch_size)  # argument checks
    total = sum(len(b) for b in batches.values())
    plans: list[tuple[dict[str, TokenBatch], float]] = []
    for name, b in batches.items():
        n = math.ceil(len(b) / micro_batch_size)
        for rows in torch.arange(len(b)).tensor_split(n):
            if len(rows):
                part = b.select(slice(int(rows[0]), int(rows[-1]) + 1)).trim()
                plans.append(({name: part}, len(rows) / total))
    return plans


@dataclass
class StackedSources:
    """Rows of several sources padded to one width; `spans[name] = (first_row, end_row, width)`."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    select: torch.Tensor
    spans: dict[str, tuple[int, int, int]]

    def unstack(self, values: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-source [B_s, L_s] views of a [sum B_s, L_max] output."""
        return {name: values[a:b, :width] for name, (a, b, width) in self.spans.items()}


def stack_sources(batches: dict[str, TokenBatch], pad_id: int = 0) -> StackedSources:
    """Pad every source to the widest one and concatenate rows (select = loss_mask)."""
    width = max(b.input_ids.shape[1] for b in batches.values())
    ids, attn, sel, spans, row = [], [], [], {}, 0
    for name, b in batches.items():
        pad = width - b.input_ids.shape[1]
        ids.append(F.pad(b.input_ids, (0, pad), value=pad_id))
        attn.append(F.pad(b.attention_mask, (0, pad)))
        sel.append(F.pad(b.loss_mask, (0, pad)))
        spans[name] = (row, row + len(b), b.input_ids.shape[1])
        row += len(b)
    return StackedSources(torch.cat(ids), torch.cat(attn), torch.cat(sel), spans)


def shard_rows(n: int, world_size: int, rank: int) -> slice:
    """Contiguous rows of rank `rank` when n rows are split over `world_size` ranks."""
    per, extra = divmod(n, world_size)
    start = rank * per + min(rank, extra)
    return slice(start, start + per + (1 if rank < extra else 0))
