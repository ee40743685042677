"""Algorithms: which prompts train, which samples the divergence sees, and the loss they add up to.

One small class per algorithm, registered by the name used in `algorithm.name`.
"""

from rlvr.algorithms.base import ALGORITHMS, Algorithm, build_algorithm
from rlvr.algorithms.objective import Objective

# Registration side effects.
from rlvr.algorithms import dph, grpo, rapo  # noqa: E402,F401  isort: skip

__all__ = ["ALGORITHMS", "Algorithm", "Objective", "build_algorithm"]
