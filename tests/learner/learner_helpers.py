"""Helpers for learner tests: a tiny random Llama saved locally, random batches, a simple loss."""

from __future__ import annotations

from pathlib import Path

import torch

from rlvr.batch import TokenBatch, pack_sequences

VOCAB = 128


def save_tiny_llama(
    out_dir: Path, *, seed: int = 0, vocab: int = VOCAB, hidden: int = 32, layers: int = 2, tie: bool = False
) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        tie_word_embeddings=tie,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(out_dir)
    return out_dir


def random_batch(
    n: int, *, seed: int = 0, vocab: int = VOCAB, max_prompt: int = 6, max_response: int = 10
) -> TokenBatch:
    """n prompt+response rows of random lengths (so padding and trimming are exercised)."""
    g = torch.Generator().manual_seed(seed)
    prompts, responses = [], []
    for _ in range(n):
        p = int(torch.randint(1, max_prompt + 1, (1,), generator=g))
        r = int(torch.randint(1, max_response + 1, (1,), generator=g))
        prompts.append(torch.randint(3, vocab, (p,), generator=g).tolist())
        responses.append(torch.randint(3, vocab, (r,), generator=g).tolist())
    return pack_sequences(prompts, responses, pad_id=0)


class MeanResponseNLL:
    """-mean log-prob of response tokens of source "rollout" (a token-mean over the micro-batch)."""

    needs_entropy = False

    def __call__(self, outputs, batches):
        lp = outputs["rollout"].logprobs
        mask = batches["rollout"].loss_mask
        loss = -(lp * mask).sum() / mask.sum().clamp(min=1)
        return loss, {"nll": loss.detach()}
