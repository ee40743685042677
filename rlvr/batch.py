"""Token batches that cross component boundaries (rollout -> learner, bank -> learner).

Alignment convention used everywhere in rlvr: a per-token tensor `x[:, t]` belongs to the token
`input_ids[:, t]`, and a log-prob at position t is log p(input_ids[t] | input_ids[:t]). Position 0
of a sequence has no log-prob (stored as 0 and never inside `loss_mask`). Sequences are
right-padded; `loss_mask` is 1 exactly on response tokens that the objective sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import torch


@dataclass
class TokenBatch:
    """B sequences of prompt + response, right-padded to length L.

    input_ids:      [B, L] int64 token ids (pad id beyond each sequence's length).
    attention_mask: [B, L] int64, 1 on real tokens (prompt and response), 0 on padding.
    loss_mask:      [B, L] float32, 1 on response tokens, 0 on prompt and padding.
    tensors:        optional per-token [B, L] float32 tensors aligned as above, e.g.
                    "logp_old" (sampler log-probs), "logp_ref" (log pi_0), "advantages";
                    and per-sequence [B] tensors, e.g. "rewards".
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    loss_mask: torch.Tensor
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.input_ids.dim() != 2:
            raise ValueError(f"input_ids must be [B, L], got shape {tuple(self.input_ids.shape)}")
        shape = self.input_ids.shape
        for name in ("attention_mask", "loss_mask"):
            if getattr(self, name).shape != shape:
                raise ValueError(
                    f"{name} has shape {tuple(getattr(self, name).shape)}, expected {tuple(shape)}"
                )
        for name, t in self.tensors.items():
            if t.shape[0] != shape[0] or (t.dim() == 2 and t.shape != shape) or t.dim() > 2:
                raise ValueError(
                    f"tensors[{name!r}] has shape {tuple(t.shape)}; expected [B] or [B, L] = {tuple(shape)}"
                )

    def __len__(self) -> int:
        return self.input_ids.shape[0]

    def select(self, index: torch.Tensor | slice) -> TokenBatch:
        """Rows `index` (a slice, index tensor or bool mask) as a new batch."""
        return TokenBatch(
            input_ids=self.input_ids[index],
            attention_mask=self.attention_mask[index],
            loss_mask=self.loss_mask[index],
            tensors={k: v[index] for k, v in self.tensors.items()},
        )

    def split(self, micro_batch_size: int) -> list[TokenBatch]:
        return [self.select(slice(i, i + micro_batch_size)) for i in range(0, len(self), micro_batch_size)]

    def to(self, device: torch.device | str) -> TokenBatch:
        return replace(
            self,
            **{f.name: getattr(self, f.name).to(device) for f in fields(self) if f.name != "tensors"},
            tensors={k: v.to(device) for k, v in self.tensors.items()},
        )

    def pad_rows(self, multiple: int) -> TokenBatch:
        """Append copies of row 0 with an all-zero loss_mask until len(self) % multiple == 0.

        Data-parallel ranks need equal shares; padded rows reach no loss (every objective masks by
        loss_mask, and sequence means skip rows without unmasked tokens).
        """
        extra = (-len(self)) % multiple
        if extra == 0:
            return self
        idx = torch.zeros(extra, dtype=torch.long)
        pad = self.select(idx)
        pad.loss_mask = torch.zeros_like(pad.loss_mask)
        return TokenBatch(
            input_ids=torch.cat([self.input_ids, pad.input_ids]),
            attention_mask=torch.cat([self.attention_mask, pad.attention_mask]),
            loss_mask=torch.cat([self.loss_mask, pad.loss_mask]),
            tensors={k: torch.cat([v, pad.tensors[k]]) for k, v in self.tensors.items()},
        )

    def trim(self) -> TokenBatch:
        """Drop trailing columns that are padding in every row (saves compute after splitting)."""
        lengths = self.attention_mask.sum(dim=1)
        width = int(lengths.max().item()) if len(self) else 0
        return TokenBatch(
            input_ids=self.input_ids[:, :width],
            attention_mask=self.attention_mask[:, :width],
            loss_mask=self.loss_mask[:, :width],
            tensors={k: (v[:, :width] if v.dim() == 2 else v) for k, v in self.tensors.items()},
        )


def pack_sequences(
    prompts: list[list[int]],
    responses: list[list[int]],
    pad_id: int,
    per_token: dict[str, list[list[float]]] | None = None,
) -> TokenBatch:
    """Right-pad prompt+response pairs into a TokenBatch.

    per_token: name -> one list per sequence with one value per *response* token (e.g. the
    sampler's log-probs), placed at the response tokens' positions.
    """
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
    per_token = per_token or {}
    lengths = [len(p) + len(r) for p, r in zip(prompts, responses, strict=True)]
    B, L = len(prompts), max(lengths, default=0)
    input_ids = torch.full((B, L), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((B, L), dtype=torch.long)
    loss_mask = torch.zeros((B, L), dtype=torch.float32)
    tensors = {k: torch.zeros((B, L), dtype=torch.float32) for k in per_token}
    for i, (p, r) in enumerate(zip(prompts, responses, strict=True)):
        n_p, n = len(p), len(p) + len(r)
        if n_p == 0:
            raise ValueError(f"sequence {i}: empty prompt (the first response token would have no context)")
        input_ids[i, :n] = torch.tensor(list(p) + list(r), dtype=torch.long)
        attention_mask[i, :n] = 1
        loss_mask[i, n_p:n] = 1.0
        for k, values in per_token.items():
            if len(values[i]) != len(r):
                raise ValueError(
                    f"per_token[{k!r}][{i}] has {len(values[i])} values for {len(r)} response tokens"
                )
            tensors[k][i, n_p:n] = torch.tensor(values[i], dtype=torch.float32)
    return TokenBatch(input_ids, attention_mask, loss_mask, tensors)
