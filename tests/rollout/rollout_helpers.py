"""Constants and helpers shared by the rollout tests."""

from __future__ import annotations

from pathlib import Path

# Small enough for fast CPU tests, still a standard Llama with vLLM-supported head_dim 32 and
# grouped-query attention (4 query heads share 2 KV heads), so the weight sync must handle
# vLLM's fused qkv/gate_up layout.
TINY = dict(hidden_size=128, num_layers=2, num_heads=4, num_kv_heads=2, vocab_size=512)

PROMPTS = [
    "What is 23 + 48?",
    "Tom has 12 apples. Anna gives Tom 5 more apples. How many apples does Tom have now?",
    "Compute 7 \\times 8.",
    "There are 3 boxes with 4 pencils in each box.",
    "Q",
]


def perturbed_state(model_dir: Path, scale: float = 0.05, seed: int = 1) -> dict:
    """The checkpoint's weights plus seeded Gaussian noise: 'new weights' after a training step."""
    import torch
    from safetensors.torch import load_file

    gen = torch.Generator().manual_seed(seed)
    state = load_file(str(Path(model_dir) / "model.safetensors"))
    return {k: v + scale * torch.randn(v.shape, generator=gen) for k, v in state.items()}


def max_abs_diff(a: list[list[float]], b: list[list[float]]) -> float:
    assert [len(x) for x in a] == [len(y) for y in b]
    return max(abs(x - y) for xs, ys in zip(a, b, strict=True) for x, y in zip(xs, ys, strict=True))
