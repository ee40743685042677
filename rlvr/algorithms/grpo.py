"""GRPO and its variants (DAPO, Dr.GRPO are configurations of it: see recipes/algorithm/).

Trains on every prompt. With a policy-sample divergence (reverse KL) it is GRPO + KL penalty;
with a reference-sample divergence the term runs on bank samples of all prompts.
"""

from rlvr.algorithms.base import ALGORITHMS, Algorithm


@ALGORITHMS.register("grpo")
class GRPO(Algorithm):
    name = "grpo"
