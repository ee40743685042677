"""A decoder-only transformer's shape (Llama / Qwen2 / Mistral family) read from its HF config.

Counts parameters without loading weights, so `rlvr plan` can size a 7B model on a laptop. The
count covers what these architectures hold: embeddings, per layer q/k/v/o projections (Qwen2 has
q/k/v biases), a gated MLP and two RMSNorms, the final norm, and an untied LM head.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The config.json fields that matter here, for the hub models our GPU recipes name, so that
# `rlvr plan` sizes them without a hub (values from the models' published config.json).
KNOWN_CONFIGS: dict[str, dict[str, Any]] = {
    "Qwen/Qwen2.5-Math-7B": {
        "model_type": "qwen2",
        "vocab_size": 152064,
        "hidden_size": 3584,
        "intermediate_size": 18944,
        "num_hidden_layers": 28,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "tie_word_embeddings": False,
    },
    "meta-llama/Llama-3.1-8B-Instruct": {
        "model_type": "llama",
        "vocab_size": 128256,
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "tie_word_embeddings": False,
    },
}


@dataclass(frozen=True)
class ModelShape:
    vocab: int
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    tied: bool
    qkv_bias: bool = False

    @classmethod
    def from_hf_config(cls, config: Any) -> ModelShape:
        """From a transformers config object or its dict (config.json)."""
        c = config if isinstance(config, dict) else config.to_dict()
        if "text_config" in c:  # multimodal wrappers keep the LM's shape here
            c = {**c, **c["text_config"]}
        heads = int(c["num_attention_heads"])
        hidden = int(c["hidden_size"])
        return cls(
            vocab=int(c["vocab_size"]),
            hidden=hidden,
            intermediate=int(c["intermediate_size"]),
            layers=int(c["num_hidden_layers"]),
            heads=heads,
            kv_heads=int(c.get("num_key_value_heads") or heads),
            head_dim=int(c.get("head_dim") or hidden // heads),
            tied=bool(c.get("tie_word_embeddings", False)),
            # Qwen2 puts biases on q/k/v; Llama has none unless attention_bias is set.
            qkv_bias=c.get("model_type") == "qwen2" or bool(c.get("attention_bias", False)),
        )

    @classmethod
    def from_pretrained(cls, path: str) -> ModelShape:
        """From a model folder or hub id; hub ids in KNOWN_CONFIGS work offline."""
        from pathlib import Path

        if not (Path(path).expanduser() / "config.json").exists() and path in KNOWN_CONFIGS:
            return cls.from_hf_config(KNOWN_CONFIGS[path])
        from transformers import AutoConfig

        return cls.from_hf_config(AutoConfig.from_pretrained(path))

    @property
    def q_dim(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    def layer_params(self) -> int:
        h = self.hidden
        attn = h * self.q_dim + 2 * h * self.kv_dim + self.q_dim * h
        if self.qkv_bias:
            attn += self.q_dim + 2 * self.kv_dim
        mlp = 3 * h * self.intermediate  # gate, up, down
        return attn + mlp + 2 * h  # two RMSNorm weights

    def params(self) -> int:
        embed = self.vocab * self.hidden
        head = 0 if self.tied else self.vocab * self.hidden
        return embed + self.layers * self.layer_params() + self.hidden + head
