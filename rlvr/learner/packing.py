"""Padding-free forward passes, with a prompt computed once for all of its samples.

A micro-batch of rollouts is padded to its longest sequence, and GRPO's group of n samples per
prompt repeats each prompt n times: the transformer body computes every padding position and every
prompt n times. Packing lays the batch out again before the body and gathers the hidden states
back to the padded [B, L] layout after it, so nothing after the body knows:

- rows that begin with the same tokens up to their first scored position (a prompt and its
  samples, or a bank prompt and its pi_0 samples) form a unit: the shared prefix once, then each
  row's remaining tokens, each attending to the prefix and causally to itself;
- units are placed in rows by first-fit decreasing, several per row.

Every token keeps its position id (its column in the padded row) and sees exactly the tokens it saw
in its padded row, so log-probs are the same up to float rounding, and gradients too: a shared
prefix's hidden states feed every sample's tokens, and backward sums their contributions as the
padded batch's n copies did. Which layout (share or not, how many samples per unit, row width) is
picked by a FLOP model, `relative_cost`; the padded batch is kept when nothing is cheaper.

The attention pattern is a 4-D mask (Hugging Face passes 4-D masks to the attention as they are;
boolean for SDPA, additive for eager). Flash-attention takes no mask, and a 4-D mask would replace
a sliding window: there, rows are packed without sharing and the sequences are marked by
restarting position ids, which `transformers` turns into flash-attention's varlen boundaries or
per-sequence (sliding) causal masks. A model whose attention ignores either would let
sequences see each other: `packing_matches` compares both layouts on a tiny batch once per model,
and callers fall back to padded rows, with a warning, when they differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

MASKS = ("bool", "additive", "positions")  # SDPA, eager attention, flash-attention (no mask)
WIDTHS = (1.0, 1.25, 1.5, 2.0)  # packed row widths tried, as multiples of the widest unit
MEMBERS = (None, 8, 4, 2)  # samples per shared-prefix unit tried (None: all rows of the prefix)


@dataclass
class Packing:
    """Rows of a right-padded [B, L] batch laid out as [R, C] packed rows.

    input_ids, position_ids: [R, C]. attention_mask: [R, 1, C, C] (bool, True = may attend, or
    additive float), or None for flash-attention (sequences marked by restarting position ids).
    Padding positions attend to themselves only and no real token attends to them.
    index: [B, L] long, the flat position (row * C + column) of each padded position in the packed
    layout; rows sharing a prefix point at the same prefix positions; padding points at 0.
    """

    input_ids: torch.Tensor
    position_ids: torch.Tensor
    attention_mask: torch.Tensor | None
    index: torch.Tensor

    def unpack(self, packed: torch.Tensor) -> torch.Tensor:
        """[R, C, ...] packed values -> [B, L, ...] in the padded layout."""
        flat = packed.reshape(-1, *packed.shape[2:])
        return flat[self.index.reshape(-1)].view(*self.index.shape, *packed.shape[2:])


def plan_bins(lengths: list[int], width: int) -> list[tuple[int, int]]:
    """(bin, offset) of each item, first-fit decreasing into bins of `width` tokens.

    Ties keep item order, so the plan is a function of the lengths alone (every data-parallel rank
    and every rerun packs the same way).
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    used: list[int] = []
    place = [(0, 0)] * len(lengths)
    for i in order:
        n = lengths[i]
        if n > width:
            raise ValueError(f"sequence {i} has {n} tokens, more than the bin width {width}")
        for b, u in enumerate(used):
            if u + n <= width:
                place[i] = (b, u)
                used[b] = u + n
                break
        else:
            place[i] = (len(used), 0)
            used.append(n)
    return place


def relative_cost(rows: int, width: int, hidden_size: int) -> float:
    """Body FLOPs of `rows` x `width` tokens, up to a constant: the linear layers, ~24 h^2 per
    token and layer (fwd), plus attention over the whole row, ~4 width h per token (QK^T and AV;
    masked pairs are computed too)."""
    return rows * width * (1.0 + width / (6.0 * hidden_size))


@dataclass
class _Unit:
    """A shared prefix (tokens [0, prefix) of row `rows[0]`) and the rows continuing it."""

    prefix: int
    rows: list[int]

    def size(self, lengths: list[int]) -> int:
        return self.prefix + sum(lengths[b] - self.prefix for b in self.rows)


def _units(
    input_ids: torch.Tensor, lengths: list[int], starts: list[int], members: int | None, share: bool
) -> list[_Unit]:
    if not share:
        return [_Unit(0, [b]) for b in range(len(lengths))]
    groups: dict[bytes, list[int]] = {}
    for b, s in enumerate(starts):
        groups.setdefault(input_ids[b, :s].numpy().tobytes() if s else b"%d" % b, []).append(b)
    units = []
    for rows in groups.values():
        prefix = starts[rows[0]]
        step = members or len(rows)
        units += [_Unit(prefix, rows[i : i + step]) for i in range(0, len(rows), step)]
    return units


def pack_rows(
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    select: torch.Tensor | None = None,
    *,
    hidden_size: int,
    mask: str = "bool",
    pad_id: int = 0,
) -> Packing | None:
    """The cheapest packed layout of a right-padded batch, or None when the padded one is cheapest.

    select: [B, L] positions whose log-prob is wanted (only column >= 1 counts); a row's tokens
    before its first selected position are its shareable prefix. Without it, or with
    mask="positions", nothing is shared.
    """
    if mask not in MASKS:
        raise ValueError(f"mask must be one of {MASKS}, got {mask!r}")
    B, L = input_ids.shape
    cpu_ids = input_ids.cpu()
    lengths = [int(n) for n in attention_mask.sum(dim=1).tolist()]
    share = select is not None and mask != "positions"
    starts = lengths
    if share:
        sel = (select[:, 1:] > 0).cpu()
        first = torch.where(sel.any(dim=1), sel.int().argmax(dim=1) + 1, torch.tensor(lengths))
        starts = [min(int(s), n) for s, n in zip(first.tolist(), lengths, strict=True)]
    best = (relative_cost(B, L, hidden_size), None)
    # Unshared once, right after sharing with whole groups (ties keep the earlier candidate).
    candidates = [(None, False)]
    if share:
        candidates = [(None, True), (None, False)] + [(m, True) for m in MEMBERS if m is not None]
    for members, shared in candidates:
        units = _units(cpu_ids, lengths, starts, members, shared)
        sizes = [u.size(lengths) for u in units]
        for factor in WIDTHS:
            width = int(max(sizes) * factor)
            place = plan_bins(sizes, width)
            rows = 1 + max(b for b, _ in place)
            cost = relative_cost(rows, width, hidden_size)
            if cost < best[0]:
                best = (cost, (units, place, rows, width))
    if best[1] is None:
        return None
    units, place, R, C = best[1]
    return _layout(input_ids, lengths, units, place, R, C, mask, pad_id)


def _layout(
    input_ids: torch.Tensor,
    lengths: list[int],
    units: list[_Unit],
    place: list[tuple[int, int]],
    R: int,
    C: int,
    mask: str,
    pad_id: int,
) -> Packing:
    B, L = input_ids.shape
    index = torch.zeros((B, L), dtype=torch.long)
    seg = torch.full((R, C), -1, dtype=torch.long)  # segment of each packed position, -1 padding
    parent = torch.full((R, C), -2, dtype=torch.long)  # the segment a suffix also sees
    segment = 0
    for unit, (r, offset) in zip(units, place, strict=True):
        at = offset
        prefix_seg = segment
        if unit.prefix:
            seg[r, at : at + unit.prefix] = prefix_seg
            first = r * C + at
            index[unit.rows, : unit.prefix] = torch.arange(first, first + unit.prefix)
            at += unit.prefix
            segment += 1
        for b in unit.rows:
            n = lengths[b] - unit.prefix
            seg[r, at : at + n] = segment
            parent[r, at : at + n] = prefix_seg if unit.prefix else -2
            first = r * C + at
            index[b, unit.prefix : lengths[b]] = torch.arange(first, first + n)
            at += n
            segment += 1
    real = torch.arange(L).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    index = torch.where(real, index, torch.zeros_like(index))
    flat_ids = torch.full((R * C,), pad_id, dtype=input_ids.dtype)
    flat_pos = torch.zeros(R * C, dtype=torch.long)
    flat_ids[index[real]] = input_ids.cpu()[real]
    flat_pos[index[real]] = torch.arange(L).expand(B, L)[real]
    attn = None
    if mask != "positions":
        q, k = seg.unsqueeze(2), seg.unsqueeze(1)  # [R, C, 1], [R, 1, C]
        causal = torch.ones(C, C, dtype=torch.bool).tril()
        sees = ((k == q) | (k == parent.unsqueeze(2))) & (q >= 0) & causal
        sees |= torch.eye(C, dtype=torch.bool)  # padding attends to itself: no all-masked query row
        attn = sees.unsqueeze(1)
        if mask == "additive":
            attn = torch.zeros(attn.shape).masked_fill_(~attn, torch.finfo(torch.float32).min)
    device = input_ids.device
    return Packing(
        flat_ids.view(R, C).to(device),
        flat_pos.view(R, C).to(device),
        attn.to(device) if attn is not None else None,
        index.to(device),
    )


def has_sliding_window(config: object) -> bool:
    """Whether some layer attends within a sliding window (Gemma-2/3, Mistral, Qwen2 with
    use_sliding_window): a custom 4-D mask would replace that window, so such models get packing
    by position ids only, whose masks `transformers` still builds per layer."""
    layer_types = getattr(config, "layer_types", None)
    if layer_types is not None:
        return any("sliding" in str(t) for t in layer_types)
    return bool(getattr(config, "sliding_window", None)) and bool(getattr(config, "use_sliding_window", True))


def attention_mask_kind(config: object) -> str:
    """How a packed layout is told to the model's attention (MASKS), from its HF config."""
    impl = getattr(config, "_attn_implementation", None) or "sdpa"
    if "flash" in impl or has_sliding_window(config):
        return "positions"
    return "additive" if impl == "eager" else "bool"


def synthetic_batch(vocab_size: int, device: torch.device | str) -> tuple[torch.Tensor, ...]:
    """Three right-padded rows: two share a 3-token prefix (scored from column 3), one is short.

    Returns input_ids, attention_mask and select, each [3, 6]."""
    rows = [[1, 8, 15, 22, 29, 36], [1, 8, 15, 9, 0, 0], [7, 14, 0, 0, 0, 0]]
    lengths, starts = (6, 4, 2), (3, 3, 1)
    ids = torch.tensor(rows) % vocab_size
    attn = torch.zeros_like(ids)
    sel = torch.zeros_like(ids)
    for i, (n, s) in enumerate(zip(lengths, starts, strict=True)):
        attn[i, :n] = 1
        sel[i, s:n] = 1
    return ids.to(device), attn.to(device), sel.to(device)


def packing_matches(
    hidden_of: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, bool], torch.Tensor],
    vocab_size: int,
    device: torch.device | str,
    rtol: float,
) -> tuple[bool, float]:
    """Whether a model's final hidden states are the same packed and padded on a tiny batch, and
    the largest relative difference of a real token's hidden state. `hidden_of(input_ids,
    attention_mask, select, pack)` returns [B, L, H] in the padded layout.

    Hidden states, not log-probs: a model near its initialization predicts almost uniformly, so
    even sequences that see each other barely move its log-probs; their hidden states move by tens
    of percent (measured on a random 2-layer Llama: 0.66), rounding by 0 to 1e-2.
    """
    ids, attn, sel = synthetic_batch(vocab_size, device)
    with torch.no_grad():
        padded = hidden_of(ids, attn, sel, False).float()
        packed = hidden_of(ids, attn, sel, True).float()
    real = attn > 0
    diff = (padded - packed).norm(dim=-1) / padded.norm(dim=-1).clamp(min=1e-12)
    worst = float(diff[real].max())
    return worst <= rtol, worst


def packing_tolerance(dtype: torch.dtype) -> float:
    """How far packed and padded hidden states may differ (relative) by rounding alone."""
    return 1e-3 if dtype == torch.float32 else 3e-2
