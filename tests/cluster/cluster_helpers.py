"""What the cluster tests share besides fixtures: the tiny run's overrides and the CLI environment."""

from __future__ import annotations

import os
from pathlib import Path

# The smallest real GRPO run: the seeded tiny random model, 2 prompts x 2 samples a step, scored
# by `parity` (tests/e2e/parity.py), which gives an untrained model varied rewards so weights move.
TINY_RUN = [
    "model=tiny-random",
    "algorithm=grpo",
    "divergence=none",
    "steps=2",
    "data=jsonl",
    "data.test=null",
    "verifier.name=parity",
    "prompts_per_step=2",
    "rollout.sampling.n=2",
    "rollout.sampling.max_tokens=8",
    "eval.n=0",
    "logger.progress=false",
    "learner.micro_batch_size=4",
    "learner.lr=1e-3",
]


def cli_env(rlvr_cache: Path, plugin_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of an `rlvr` subprocess: this session's cache, the plugin on PYTHONPATH,
    no inherited Ray settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    return {
        **env,
        "RLVR_CACHE": str(rlvr_cache),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(plugin_dir),
        **extra,
    }
