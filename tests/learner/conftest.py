"""Fixtures for learner tests (no hub, no tokenizer: a tiny random Llama saved to a tmp dir)."""

from __future__ import annotations

import os
from pathlib import Path

# DeepSpeed caches compiled ops per venv, as the Makefile does; set before deepspeed is imported.
os.environ.setdefault(
    "TORCH_EXTENSIONS_DIR", str(Path(__file__).resolve().parents[2] / ".venv" / "torch_extensions")
)

import pytest  # noqa: E402
from learner_helpers import save_tiny_llama  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    return save_tiny_llama(tmp_path_factory.mktemp("tiny_llama"))


@pytest.fixture(scope="session")
def tiny_tied_model_path(tmp_path_factory) -> Path:
    return save_tiny_llama(tmp_path_factory.mktemp("tiny_llama_tied"), tie=True)
