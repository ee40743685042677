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
boolean for SDPA, additive for eager). A mask over a whole packed row makes SDPA compute every
pair of the row, and a row holding a 400-token prompt and 8 samples of 80 has 3x more pairs than
its sequences attend to. So for SDPA models the attention runs per sequence instead
(`Segments`, through the attention function `ATTENTION`, which `use_segment_attention` selects):
a prompt attends causally to itself, each sample to its prompt and causally to itself, batched in
two padded groups; the 4-D mask still goes along, and anything that does not get the segments
falls back to SDPA over it. Flash-attention takes no mask, and a 4-D mask would replace
a sliding window: there, rows are packed without sharing and the sequences are marked by
restarting position ids, which `transformers` turns into flash-attention's varlen boundaries or
per-sequence (sliding) causal masks. A model whose attention ignores either would let
sequences see each other: `packing_matches` compares both layouts on a tiny batch once per model,
and callers fall back to padded rows, with a warning, when they differ.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

MASKS = ("bool", "additive", "positions")  # SDPA, eager attention, flash-attention (no mask)
ATTENTION = "rlvr_sdpa"  # SDPA per packed sequence when given Segments, plain SDPA otherwise
# What a vector copied by attention per sequence costs, in relative_cost's units times the hidden
# size. Set between three measurements (bench/packing.py, fwd+bwd, per sequence / mask over rows):
# tiny-arith-v2 (h=128, 4 prompts x 8, prompt 45) with responses 1-48: 1.11x, so per sequence
# must lose there (it does for a constant above 1.98); with responses 1-64: 0.92x (wins below
# 5.73); SmolLM2-135M (h=576, 8 samples of a 400-token prompt): 0.84x (wins below 9.98).
GATHER_COST = 4.0
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
    segments: Segments | None = None  # attention per sequence (mask "bool", when it is cheaper)

    def unpack(self, packed: torch.Tensor) -> torch.Tensor:
        """[R, C, ...] packed values -> [B, L, ...] in the padded layout."""
        flat = packed.reshape(-1, *packed.shape[2:])
        return flat[self.index.reshape(-1)].view(*self.index.shape, *packed.shape[2:])


@dataclass
class Segments:
    """Attention of a packed layout computed per sequence, not over whole packed rows.

    A group is a run of query positions and the keys it sees: a shared prefix (or an unshared
    sequence) sees itself causally; a sample sees its prefix, then itself causally. Groups are
    batched in buckets padded to their longest query and key runs, one SDPA call per bucket.
    buckets: (queries [G, Q], keys [G, K], mask [G, 1, Q, K] bool) with flat packed positions
    (row * C + column); padding slots point at position 0 and a padding query sees key 0 only.
    A bucket of prefixes and unshared sequences (keys = queries) has mask None: causal attention
    is exact for its real queries (key j <= query j is real), and SDPA then skips the upper half.
    source: [R * C], for each packed position its row in the buckets' outputs laid end to end,
    or the last row (zeros) for packing's own padding.
    """

    buckets: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
    source: torch.Tensor

    def attend(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        scaling: float | None,
        dropout: float,
    ) -> torch.Tensor:
        """query [R, Hq, C, d], key and value [R, Hkv, C, d] -> the attention output [R, C, Hq, d]."""
        R, Hq, C, d = query.shape
        Hkv = key.shape[1]
        q = query.transpose(1, 2).reshape(R * C, Hq, d)
        k = key.transpose(1, 2).reshape(R * C, Hkv, d)
        v = value.transpose(1, 2).reshape(R * C, Hkv, d)
        outs = []
        for queries, keys, mask in self.buckets:
            # index_select, not q[queries]: its backward is index_add_, much faster on CPU than
            # the accumulating index_put_ of advanced indexing
            qb = q.index_select(0, queries.view(-1)).view(*queries.shape, Hq, d).transpose(1, 2)
            kb = k.index_select(0, keys.view(-1)).view(*keys.shape, Hkv, d).transpose(1, 2)
            vb = v.index_select(0, keys.view(-1)).view(*keys.shape, Hkv, d).transpose(1, 2)
            if Hkv != Hq:  # grouped-query attention: kv head j serves query heads j*g .. j*g+g-1
                kb = kb.repeat_interleave(Hq // Hkv, dim=1)
                vb = vb.repeat_interleave(Hq // Hkv, dim=1)
            o = F.scaled_dot_product_attention(
                qb, kb, vb, attn_mask=mask, dropout_p=dropout, is_causal=mask is None, scale=scaling
            )
            outs.append(o.transpose(1, 2).reshape(-1, Hq, d))
        outs.append(q.new_zeros(1, Hq, d))
        return torch.cat(outs).index_select(0, self.source).view(R, C, Hq, d)

    def to(self, device: torch.device | str) -> Segments:
        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device)

        return Segments([tuple(move(t) for t in b) for b in self.buckets], self.source.to(device))


def _groups(units: list[_Unit], place: list[tuple[int, int]], lengths: list[int], C: int):
    """Every attention group of a packed layout as (parent start, parent length, own start, own
    length) in flat positions; the first list holds prefixes and unshared sequences (no parent),
    the second shared samples (their prefix as parent)."""
    whole, samples = [], []
    for unit, (r, offset) in zip(units, place, strict=True):
        at = r * C + offset
        parent = at
        if unit.prefix:
            whole.append((0, 0, at, unit.prefix))
        at += unit.prefix
        for b in unit.rows:
            n = lengths[b] - unit.prefix
            (samples if unit.prefix else whole).append((parent, unit.prefix, at, n))
            at += n
    return [g for g in (whole, samples) if g]


def _pairs(units: list[_Unit], lengths: list[int]) -> tuple[int, int]:
    """Query-key pairs SDPA computes when `units` attend per sequence (the buckets of `_groups`,
    padding included; half for the causal bucket, whose upper triangle SDPA skips), and the vectors
    gathered for them (queries, keys and values per bucket, then every output once). Independent
    of where the units sit in the packed rows."""
    whole = [u.prefix for u in units if u.prefix]
    whole += [lengths[b] for u in units if not u.prefix for b in u.rows]
    samples = [(u.prefix, lengths[b] - u.prefix) for u in units if u.prefix for b in u.rows]
    pairs = gathered = 0
    if whole:
        Q = max(whole)
        pairs += len(whole) * Q * Q // 2
        gathered += len(whole) * 3 * Q + sum(whole)
    if samples:
        Q = max(n for _, n in samples)
        K = max(p + n for p, n in samples)
        pairs += len(samples) * Q * K
        gathered += len(samples) * (Q + 2 * K) + sum(n for _, n in samples)
    return pairs, gathered


def _segments(groups: list[list[tuple[int, int, int, int]]], R: int, C: int) -> Segments:
    buckets = []
    source = torch.full((R * C,), -1, dtype=torch.long)
    done = 0
    for g in groups:
        ps, p, os_, n = torch.tensor(g).T.unsqueeze(2)  # each [G, 1]
        Q, K = int(n.max()), int((p + n).max())
        j, k = torch.arange(Q).unsqueeze(0), torch.arange(K).unsqueeze(0)  # [1, Q], [1, K]
        real = j < n  # [G, Q]: query j is a position of the group, not padding
        queries = torch.where(real, os_ + j, 0)
        # key k: the parent's k-th position, then the group's own (k - p)-th, then padding
        keys = torch.where(k < p, ps + k, torch.where(k < p + n, os_ + k - p, 0))
        # query j sees the parent and its own keys up to itself (key index < p + j + 1); a padding
        # query sees key 0 only (no query row without a key)
        sees = k.unsqueeze(1) < (p + j + 1).unsqueeze(2)  # [G, Q, K]
        sees &= real.unsqueeze(2) & (k < p + n).unsqueeze(1)
        sees[:, :, 0] |= ~real
        source[queries[real]] = done + (torch.arange(len(g)).unsqueeze(1) * Q + j).expand_as(queries)[real]
        causal = bool((p == 0).all())  # keys are the queries: plain causal attention
        buckets.append((queries, keys, None if causal else sees.unsqueeze(1)))
        done += len(g) * Q
    source[source < 0] = done  # packing's padding: the zeros row
    return Segments(buckets, source)


def use_segment_attention(lm: torch.nn.Module) -> bool:
    """Route an SDPA model's attention through ATTENTION (per-sequence attention for packed rows
    that carry Segments, plain SDPA for everything else). Other attentions are left alone."""
    config = lm.config
    if getattr(config, "_attn_implementation", None) not in ("sdpa", ATTENTION) or has_sliding_window(config):
        return False
    takes = inspect.signature(lm.get_decoder().forward).parameters.values()
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in takes):
        return False  # the decoder cannot pass Segments on to its attention
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(ATTENTION, _segment_attention)
    AttentionMaskInterface.register(ATTENTION, sdpa_mask)
    config._attn_implementation = ATTENTION
    return True


# attention arguments that Segments.attend does not implement: with any of them set, plain SDPA
_NOT_PER_SEQUENCE = ("softcap", "sliding_window", "s_aux", "sinks", "head_mask")


def _segment_attention(module, query, key, value, attention_mask, *, rlvr_segments=None, **kwargs):
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if rlvr_segments is None or any(kwargs.get(k) is not None for k in _NOT_PER_SEQUENCE):
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    return rlvr_segments.attend(query, key, value, kwargs.get("scaling"), kwargs.get("dropout", 0.0)), None


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


def relative_cost(
    rows: int,
    width: int,
    hidden_size: int,
    pairs: int | None = None,
    gathered: int = 0,
    gather_cost: float | None = None,
) -> float:
    """Body FLOPs of `rows` x `width` tokens, up to a constant: the linear layers, ~24 h^2 per
    token and layer (fwd), plus attention, ~4 h per query-key pair (QK^T and AV). `pairs`: the
    pairs computed, by default every pair of each row (a 4-D mask's masked pairs are computed too).
    `gathered`: query, key, value and output vectors that attention per sequence copies (Segments),
    at `gather_cost` each (default GATHER_COST; memory-bound copies and their backward, per layer)."""
    if pairs is None:
        pairs = rows * width * width
    if gather_cost is None:
        gather_cost = GATHER_COST
    return rows * width + pairs / (6.0 * hidden_size) + gather_cost * gathered / hidden_size


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
    segments: bool = False,
    gather_cost: float | None = None,
) -> Packing | None:
    """The cheapest packed layout of a right-padded batch, or None when the padded one is cheapest.

    select: [B, L] positions whose log-prob is wanted (only column >= 1 counts); a row's tokens
    before its first selected position are its shareable prefix. Without it, or with
    mask="positions", nothing is shared.
    segments: the model's attention takes `Segments` (use_segment_attention; mask "bool"): a
    layout then attends per sequence where relative_cost says it is cheaper than its rows' masks.
    gather_cost: GATHER_COST unless given (0: per sequence whenever it computes fewer pairs).
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
        pairs, gathered = _pairs(units, lengths) if segments and mask == "bool" else (0, 0)
        for factor in WIDTHS:
            width = int(max(sizes) * factor)
            place = plan_bins(sizes, width)
            rows = 1 + max(b for b, _ in place)
            cost, per_seq = relative_cost(rows, width, hidden_size), False
            if segments and mask == "bool":
                seg_cost = relative_cost(rows, width, hidden_size, pairs, gathered, gather_cost)
                if seg_cost < cost:
                    cost, per_seq = seg_cost, True
            if cost < best[0]:
                best = (cost, (units, place, rows, width, per_seq))
    if best[1] is None:
        return None
    units, place, R, C, per_seq = best[1]
    packing = _layout(input_ids, lengths, units, place, R, C, mask, pad_id)
    if per_seq:
        packing.segments = _segments(_groups(units, place, lengths, C), R, C).to(input_ids.device)
    return packing


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
    return "additive" if impl == "eager" else "bool"  # sdpa, ATTENTION


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
