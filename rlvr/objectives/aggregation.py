"""Reducing per-token loss values [B, T] to one scalar: the one place that decides the weighting.

Every objective (policy loss, divergence term, entropy bonus) aggregates through `aggregate`, so
the token weighting of a run is set by one config name and cannot drift between terms.

Let m_bt be the mask (1 on tokens the objective sees), v_bt the per-token values,
L_b = sum_t m_bt the number of seen tokens of sequence b, and S = {b : L_b > 0} the sequences
that have at least one seen token.

- ``token-mean``: sum_bt m_bt v_bt / sum_bt m_bt. Every token of the batch weighs the same, so a
  sequence weighs in proportion to its length (DAPO's choice). Per token it is unbiased, but the
  normalizer depends on the batch's total token count: the mean of micro-batch token-means is not
  the token-mean of the whole batch unless the micro-batches hold equal token counts.
- ``seq-mean-token-mean``: mean_{b in S} (sum_t m_bt v_bt / L_b). The original GRPO weighting.
  Dividing by each sequence's own length gives tokens of short sequences more weight; Dr.GRPO
  (arXiv 2503.20783) shows the resulting bias: for A > 0 short correct answers are preferred,
  for A < 0 long wrong answers are penalized less per token, so wrong answers drift longer.
- ``seq-mean-token-sum``: mean_{b in S} sum_t m_bt v_bt. No length normalization: a sequence's
  weight grows with its length, and so do the loss scale and the gradient variance.
- ``seq-mean-token-sum-norm``: mean_{b in S} (sum_t m_bt v_bt) / norm with a constant `norm`
  (Dr.GRPO uses the maximum response length). Same direction as seq-mean-token-sum, scale kept
  near token-mean's and independent of the lengths in the batch. Without `norm` it falls back
  to T, the padded width of this batch (as verl does), which is only constant if batches are
  padded to a fixed width: pass `norm` explicitly.

Masked positions never leak: values there are replaced by 0 with `torch.where` before any
arithmetic (inf * 0 would be NaN). Sequences with no seen token are left out of sequence means;
an all-masked batch aggregates to 0, not NaN. Non-binary masks act as token weights.
"""

from __future__ import annotations

import torch

AGGREGATION_MODES = ("token-mean", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm")


def _safe_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    # where() on the denominator, not on the quotient: a 0/0 in the unselected branch of a
    # where() still sends NaN into the backward pass.
    ok = den > 0
    return torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), torch.zeros_like(num))


def aggregate(
    values: torch.Tensor,
    mask: torch.Tensor,
    mode: str = "token-mean",
    *,
    norm: float | None = None,
) -> torch.Tensor:
    """Aggregate per-token `values` [B, T] under `mask` [B, T] into a scalar (see module doc).

    values: [B, T] floating; may hold NaN/inf where mask == 0.
    mask:   [B, T] float (or bool); 1 on seen tokens, 0 on prompt and padding.
    mode:   one of AGGREGATION_MODES.
    norm:   constant divisor for "seq-mean-token-sum-norm" (default T); ignored by other modes.
    Returns a 0-dim tensor in values' dtype.
    """
    if values.dim() != 2 or mask.shape != values.shape:
        raise ValueError(
            f"aggregate expects values and mask of the same [B, T] shape; got {tuple(values.shape)} and {tuple(mask.shape)}"
        )
    weights = torch.where(mask > 0, mask.to(values.dtype), torch.zeros((), dtype=values.dtype))
    weighted = torch.where(mask > 0, values, torch.zeros_like(values)) * weights
    if mode == "token-mean":
        return _safe_div(weighted.sum(), weights.sum())
    seq_sum = weighted.sum(dim=-1)
    seq_len = weights.sum(dim=-1)
    if mode == "seq-mean-token-sum":
        per_seq = seq_sum
    elif mode == "seq-mean-token-mean":
        per_seq = _safe_div(seq_sum, seq_len)
    elif mode == "seq-mean-token-sum-norm":
        divisor = float(values.shape[-1] if norm is None else norm)
        if divisor <= 0:
            raise ValueError(
                f"seq-mean-token-sum-norm needs norm > 0 (e.g. the max response length); got {norm}"
            )
        per_seq = seq_sum / divisor
    else:
        raise ValueError(f"unknown aggregation mode {mode!r}; choose one of {', '.join(AGGREGATION_MODES)}")
    n_seq = (seq_len > 0).to(values.dtype).sum()
    return _safe_div(per_seq.sum(), n_seq)
