"""Evaluation: unbiased Pass@k curves, greedy accuracy and diversity of a model's samples."""

from rlvr.eval.metrics import distinct_n, pass_at_k, pass_at_k_curve

__all__ = ["distinct_n", "pass_at_k", "pass_at_k_curve"]
