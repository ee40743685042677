"""Prompt data sets: bundled tasks, JSONL/Parquet files, Hugging Face datasets."""

from rlvr.data.prompts import Prompt, encode_prompts, load_prompts, load_split

__all__ = ["Prompt", "encode_prompts", "load_prompts", "load_split"]
