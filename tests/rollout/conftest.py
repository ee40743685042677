"""Fixtures for rollout tests: one tiny Llama + arithmetic tokenizer, built locally per session."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing here may reach a hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from rollout_helpers import PROMPTS, TINY  # noqa: E402

from rlvr.models import build_tiny_model  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("rollout_tiny"), seed=0, **TINY)


@pytest.fixture(scope="session")
def tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="session")
def prompt_ids(tokenizer) -> list[list[int]]:
    """Chat-formatted prompts of different lengths (as a task would send them)."""
    return [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}], add_generation_prompt=True, tokenize=True
        )["input_ids"]
        for p in PROMPTS
    ]


@pytest.fixture(scope="session")
def hf_engine(tiny_model_dir):
    from rlvr.rollout.engines import HFEngine

    engine = HFEngine(str(tiny_model_dir), seed=0)
    yield engine
    engine.close()
