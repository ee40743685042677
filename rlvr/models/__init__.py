"""Model builders: the tiny seeded Llama + arithmetic tokenizer used by tests and as the embedded model's base."""

from rlvr.models.tiny import build_tiny_model, count_parameters
from rlvr.models.tokenizer import build_tokenizer

__all__ = ["build_tiny_model", "build_tokenizer", "count_parameters"]
