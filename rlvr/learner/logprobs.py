"""Per-token log-probs (and entropy) of a causal LM without full-vocabulary copies of the batch.

The naive way, `log_softmax(model(ids).logits)`, materializes [B, L, V] float32 logits plus a
log-softmax copy and keeps both for backward: with a 49k vocabulary that is 2.3 GB per copy for
64x180 tokens. Here the transformer body runs once for hidden states [B, L, H]; only the positions
that are needed (loss-mask tokens by default) go through the LM head, in chunks of `chunk_tokens`
rows, and each chunk runs under activation checkpointing so that backward recomputes that chunk's
logits instead of storing them; a hand-written log-softmax/entropy backward keeps that to two
[chunk_tokens, V] float32 buffers. Numbers: BENCHMARKS.md ("Learner").

The recomputation is one more LM-head matmul, most of a small model's FLOPs: when the selected
rows' float32 logits fit in `keep_logits_bytes` they are kept for backward instead (same values,
no recomputation).

Alignment (rlvr.batch): out[:, t] = log p_T(input_ids[t] | input_ids[:t]), where p_T is the
softmax of logits / T; column 0 and positions outside the selection are 0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from rlvr.batch import TokenBatch
from rlvr.learner.packing import (
    ATTENTION,
    Packing,
    attention_mask_kind,
    pack_rows,
    packing_matches,
    packing_tolerance,
    synthetic_batch,
    use_segment_attention,
)

DEFAULT_CHUNK_TOKENS = 1024
log = logging.getLogger(__name__)


@dataclass
class LogProbOutput:
    """What the learner hands a loss function for one source's micro-batch.

    logprobs: [B, L] float32, log pi(input_ids[t] | input_ids[:t]) at temperature T, 0 off-mask.
    entropy:  [B, L] float32 entropy of pi(. | input_ids[:t]) at temperature T, or None when the
              loss function did not ask for it (it costs a softmax per chunk).
    """

    logprobs: torch.Tensor
    entropy: torch.Tensor | None = None


ENTROPY_ROWS = 256  # rows of [n, V] probabilities the forward's entropy holds at once


class _TokenLogProbEntropy(torch.autograd.Function):
    """(log p(target), entropy) from [n, V] logits, with a hand-written backward.

    The forward keeps one [n, V] tensor, log p from torch's fused log-softmax (fewer passes over
    the logits than logsumexp, which subtracts and exponentiates into temporaries), and the
    backward turns it into the gradient in place: grad = g_lp * (onehot - p) - g_H * p * (log p + H).
    Autograd's own backward of log-softmax + gather + entropy allocates five or six [n, V]
    temporaries. Because the saved tensor is consumed, a second backward through the same graph
    (retain_graph) is refused rather than computed from overwritten values.
    """

    @staticmethod
    def forward(ctx, logits, targets, temperature: float, with_entropy: bool):
        z = logits.float()
        if temperature != 1.0:
            z = z / temperature
        logp_full = torch.log_softmax(z, dim=-1)
        del z
        logp = logp_full.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        if with_entropy:  # H = -sum p log p, a block of rows at a time: no second [n, V] tensor
            entropy = torch.empty_like(logp)
            for start in range(0, logp_full.shape[0], ENTROPY_ROWS):
                block = logp_full[start : start + ENTROPY_ROWS]
                entropy[start : start + ENTROPY_ROWS] = -torch.linalg.vecdot(block.exp(), block)
        else:
            entropy = logp.new_zeros(())  # checkpoint needs tensors; a scalar placeholder costs nothing
        ctx.save_for_backward(logp_full, targets, entropy)
        ctx.temperature, ctx.with_entropy, ctx.in_dtype = temperature, with_entropy, logits.dtype
        ctx.consumed = False
        return logp, entropy

    @staticmethod
    def backward(ctx, g_lp, g_ent):
        if ctx.consumed:
            raise RuntimeError(
                "token log-probs: a second backward through the same graph (retain_graph=True) is not "
                "supported; the first one reused the saved log-probs for the gradient"
            )
        ctx.consumed = True
        logp_full, targets, entropy = ctx.saved_tensors  # [n, V] log p, overwritten below
        g_lp = logp_full.new_zeros(logp_full.shape[0]) if g_lp is None else g_lp
        if ctx.with_entropy and g_ent is not None:
            p = logp_full.exp()
            grad = logp_full.add_(entropy.unsqueeze(-1)).mul_(p).mul_(-g_ent.unsqueeze(-1))
            grad.sub_(p.mul_(g_lp.unsqueeze(-1)))
            del p
        else:
            grad = logp_full.exp_().mul_(-g_lp.unsqueeze(-1))
        grad.scatter_add_(-1, targets.unsqueeze(-1), g_lp.unsqueeze(-1))
        if ctx.temperature != 1.0:
            grad.div_(ctx.temperature)
        return grad.to(ctx.in_dtype), None, None, None


def _head_stats(
    head: nn.Module,
    hidden: torch.Tensor,
    targets: torch.Tensor,
    temperature: float,
    softcap: float | None,
    with_entropy: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """log p(target) and entropy for [n, H] hidden rows; the only place [n, V] logits exist.

    The head is called as a module (not through its weight) so ZeRO-3's hooks gather it, also
    when checkpointing re-runs this in backward.
    """
    logits = head(hidden)
    if softcap:  # Gemma-2 style final-logit soft-capping, applied by HF before any sampling temperature.
        logits = torch.tanh(logits.float() / softcap) * softcap
    return _TokenLogProbEntropy.apply(logits, targets, temperature, with_entropy)


def chunked_logprobs_from_hidden(
    hidden: torch.Tensor,
    head: nn.Module,
    input_ids: torch.Tensor,
    select: torch.Tensor,
    *,
    temperature: float = 1.0,
    with_entropy: bool = False,
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
    softcap: float | None = None,
    keep_logits_bytes: int = 0,
) -> LogProbOutput:
    """Log-probs [B, L] from final hidden states [B, L, H] (after the final norm) and the LM head.

    select: [B, L] bool/float, the positions t whose log-prob is wanted (position 0 is ignored).
    Backward stays bounded: each chunk is checkpointed when grad is enabled, unless all the
    selected rows' float32 logits take at most `keep_logits_bytes` (then they are kept).
    """
    if temperature <= 0:
        raise ValueError(
            f"temperature must be > 0 (got {temperature}); greedy rollouts have no log-probs to match"
        )
    if chunk_tokens < 1:
        raise ValueError(f"chunk_tokens must be >= 1, got {chunk_tokens}")
    B, L = input_ids.shape
    sel = select[:, 1:] > 0  # hidden at t-1 predicts the token at t
    h = hidden[:, :-1][sel]  # [N, H]: one copy of the selected rows only
    targets = input_ids[:, 1:][sel]
    vocab = getattr(head, "out_features", None)  # unknown (not an nn.Linear): always recompute
    fits = vocab is not None and h.shape[0] * vocab * 4 <= keep_logits_bytes
    use_ckpt = torch.is_grad_enabled() and h.requires_grad and not fits
    logps, ents = [], []
    for h_c, t_c in zip(h.split(chunk_tokens), targets.split(chunk_tokens), strict=True):
        if use_ckpt:
            lp, en = checkpoint(
                _head_stats, head, h_c, t_c, temperature, softcap, with_entropy, use_reentrant=False
            )
        else:
            lp, en = _head_stats(head, h_c, t_c, temperature, softcap, with_entropy)
        logps.append(lp)
        ents.append(en)

    def scatter(values: list[torch.Tensor]) -> torch.Tensor:
        flat = torch.cat(values) if values else hidden.new_zeros(0, dtype=torch.float32)
        out = torch.zeros((B, L - 1), dtype=torch.float32, device=hidden.device).masked_scatter(sel, flat)
        return F.pad(out, (1, 0))

    return LogProbOutput(logprobs=scatter(logps), entropy=scatter(ents) if with_entropy else None)


def _final_softcap(model: nn.Module) -> float | None:
    return getattr(getattr(model, "config", None), "final_logit_softcapping", None)


def token_logprobs(
    model: nn.Module,
    batch: TokenBatch,
    *,
    temperature: float = 1.0,
    with_entropy: bool = False,
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
    all_tokens: bool = False,
    keep_logits_bytes: int = 0,
    pack: bool = False,
) -> LogProbOutput:
    """Per-token log-probs of a Hugging Face causal LM on `batch`, chunked over the LM head.

    Computes only positions inside `batch.loss_mask` (or every non-padding position when
    `all_tokens`); the rest are 0. Works on a plain model; the learner uses `LogProbModel`, the same
    computation as one nn.Module so that DeepSpeed's forward/backward hooks see it.
    """
    return LogProbModel(model, chunk_tokens, keep_logits_bytes, pack)(
        batch.input_ids,
        batch.attention_mask,
        batch.attention_mask if all_tokens else batch.loss_mask,
        temperature=temperature,
        with_entropy=with_entropy,
    ).to_output()


class _Outputs(dict):
    def to_output(self) -> LogProbOutput:
        return LogProbOutput(logprobs=self["logprobs"], entropy=self.get("entropy"))


class LogProbModel(nn.Module):
    """A causal LM whose forward returns per-token log-probs instead of logits.

    DeepSpeed wraps this module (not the bare HF model) so that the whole computation, body and
    chunked head, runs inside one engine forward: ZeRO-3 gathers parameters from module hooks
    bracketed by the root forward, and the engine hooks its backward prologue onto the outputs,
    which are therefore a dict of tensors. Parameter names are the HF names prefixed by "lm.".
    """

    def __init__(
        self,
        lm: nn.Module,
        chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
        keep_logits_bytes: int = 0,
        pack: bool = False,
    ) -> None:
        super().__init__()
        if lm.get_output_embeddings() is None:
            raise ValueError(
                f"{type(lm).__name__} has no LM head (get_output_embeddings() is None); load a *ForCausalLM model"
            )
        self.lm = lm
        self.chunk_tokens = chunk_tokens
        self.keep_logits_bytes = keep_logits_bytes
        self.pack = pack  # padding-free body (packing.py); set False where packing_matches fails
        if pack:
            use_segment_attention(lm)

    def layout(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        select: torch.Tensor,
        gather_cost: float | None = None,
    ) -> Packing | None:
        """The packed layout `forward` computes this batch in (None: padded rows)."""
        return pack_rows(
            input_ids,
            attention_mask,
            select,
            hidden_size=self.lm.config.hidden_size,
            mask=attention_mask_kind(self.lm.config),
            segments=getattr(self.lm.config, "_attn_implementation", None) == ATTENTION,
            gather_cost=gather_cost,  # check_packing: 0, so that its tiny batch attends per sequence
        )

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        select: torch.Tensor,
        temperature: float = 1.0,
        with_entropy: bool = False,
        pack: bool | None = None,
        return_hidden: bool = False,
        gather_cost: float | None = None,
    ) -> _Outputs:
        body = self.lm.get_decoder()
        packing = None
        if self.pack if pack is None else pack:
            packing = self.layout(input_ids, attention_mask, select, gather_cost)
        if packing is None:
            hidden = body(
                input_ids=input_ids, attention_mask=attention_mask, use_cache=False
            ).last_hidden_state
        else:
            extra = {"rlvr_segments": packing.segments} if packing.segments is not None else {}
            packed = body(
                input_ids=packing.input_ids,
                position_ids=packing.position_ids,
                attention_mask=packing.attention_mask,  # 4-D, or None: restarting position ids
                use_cache=False,
                **extra,  # per-sequence attention (packing.Segments), read by packing.ATTENTION
            ).last_hidden_state
            hidden = packing.unpack(packed)
        out = chunked_logprobs_from_hidden(
            hidden,
            self.lm.get_output_embeddings(),
            input_ids,
            select,
            temperature=temperature,
            with_entropy=with_entropy,
            chunk_tokens=self.chunk_tokens,
            softcap=_final_softcap(self.lm),
            keep_logits_bytes=self.keep_logits_bytes,
        )
        result = _Outputs(logprobs=out.logprobs)
        if return_hidden:  # for check_packing
            result["hidden"] = hidden
        if out.entropy is not None:
            result["entropy"] = out.entropy
        return result


def check_packing(model: LogProbModel, call: Callable[..., _Outputs] | None = None) -> float:
    """Turn `model.pack` off, with a warning, when its LM attends across packed sequences.

    `call` runs the forward (default: the model itself; the learner passes its DeepSpeed engine so
    every rank runs the same forwards; under ZeRO-3 only its forward sees whole parameters).
    Returns the largest relative difference of a token's final hidden state.
    """
    call = call or model
    lm = model.lm
    device = next(model.parameters()).device if call is model else getattr(call, "device", "cpu")
    dtype = lm.get_input_embeddings().weight.dtype
    vocab = int(lm.config.vocab_size)

    def hidden_of(ids: torch.Tensor, attn: torch.Tensor, sel: torch.Tensor, pack: bool) -> torch.Tensor:
        # gather_cost 0: the tiny batch attends per sequence where the model's attention can
        return call(ids, attn, sel, pack=pack, return_hidden=True, gather_cost=0.0)["hidden"]

    ids, attn, sel = synthetic_batch(vocab, "cpu")
    kind = attention_mask_kind(lm.config)
    if pack_rows(ids, attn, sel, hidden_size=lm.config.hidden_size, mask=kind) is None:
        raise AssertionError("check_packing's batch must pack")

    ok, diff = packing_matches(hidden_of, vocab, device, packing_tolerance(dtype))
    if not ok and model.pack and lm.config._attn_implementation == ATTENTION:
        log.warning(
            "%s: attention per packed sequence differs from padded rows (hidden states by %.3g): "
            "back to SDPA over each packed row's mask",
            type(lm).__name__,
            diff,
        )
        lm.config._attn_implementation = "sdpa"
        ok, diff = packing_matches(hidden_of, vocab, device, packing_tolerance(dtype))
    if not ok and model.pack:
        log.warning(
            "%s attends across packed sequences (packed and padded hidden states differ by %.3g): "
            "computing padded rows instead (learner.pack_sequences has no effect for this model)",
            type(lm).__name__,
            diff,
        )
        model.pack = False
    return diff


def naive_token_logprobs(
    model: nn.Module, batch: TokenBatch, *, temperature: float = 1.0, with_entropy: bool = False
) -> LogProbOutput:
    """Reference implementation through full [B, L, V] logits: for tests and benchmarks only."""
    # HF models apply any final-logit soft-capping inside forward.
    logits = model(
        input_ids=batch.input_ids, attention_mask=batch.attention_mask, use_cache=False
    ).logits.float()
    logp_all = torch.log_softmax(logits[:, :-1] / temperature, dim=-1)
    logp = logp_all.gather(-1, batch.input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    logp = F.pad(logp, (1, 0)) * F.pad(batch.loss_mask[:, 1:], (1, 0))
    entropy = None
    if with_entropy:
        ent = -(logp_all.exp() * logp_all).sum(-1)
        entropy = F.pad(ent, (1, 0)) * F.pad(batch.loss_mask[:, 1:], (1, 0))
    return LogProbOutput(logprobs=logp, entropy=entropy)
