"""Objectives: advantage estimators, loss aggregation, policy losses and the divergence registry.

Pure torch functions of per-token tensors ([B, T] log-probs, masks, advantages); see each
module's docstring for shapes and formulas, and the README's "Objectives and divergences".
"""

from rlvr.objectives.advantages import (
    ADVANTAGE_ESTIMATORS,
    compute_advantages,
    dr_grpo,
    grpo,
    register_advantage_estimator,
    rloo,
)
from rlvr.objectives.aggregation import AGGREGATION_MODES, aggregate
from rlvr.objectives.divergences import (
    DIVERGENCES,
    Divergence,
    divergence_loss,
    get_divergence,
    register_divergence,
)
from rlvr.objectives.policy_loss import POLICY_LOSSES, ppo_clip, register_policy_loss

__all__ = [
    "ADVANTAGE_ESTIMATORS",
    "AGGREGATION_MODES",
    "DIVERGENCES",
    "POLICY_LOSSES",
    "Divergence",
    "aggregate",
    "compute_advantages",
    "divergence_loss",
    "dr_grpo",
    "get_divergence",
    "grpo",
    "ppo_clip",
    "register_advantage_estimator",
    "register_divergence",
    "register_policy_loss",
    "rloo",
]
