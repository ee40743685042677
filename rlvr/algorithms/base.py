"""What every algorithm decides, and the registry that finds it by `algorithm.name`."""

from __future__ import annotations

from rlvr.algorithms.objective import Objective
from rlvr.config.schema import AlgorithmConfig, DivergenceConfig
from rlvr.objectives import get_divergence
from rlvr.registry import Registry


class Algorithm:
    """GRPO-family defaults; subclasses change the prompt split or the divergence's samples."""

    name = "base"

    def __init__(self, cfg: AlgorithmConfig, divergence: DivergenceConfig) -> None:
        self.cfg, self.div_cfg = cfg, divergence
        self.divergence = get_divergence(divergence.name, **divergence.params) if divergence.name else None
        self.validate()

    def validate(self) -> None:
        c = self.cfg
        if c.bank_weighting not in ("joint", "paper"):
            raise ValueError(f"algorithm.bank_weighting must be 'joint' or 'paper'; got {c.bank_weighting!r}")
        if c.bank_ratio <= 0:
            raise ValueError(
                f"algorithm.bank_ratio must be > 0 (bank rows per rollout row); got {c.bank_ratio}"
            )
        if self.divergence is not None and self.cfg.divergence_coef == 0.0:
            raise ValueError(
                f"divergence={self.div_cfg.name} is chosen but algorithm.divergence_coef is 0; "
                "set a coefficient or use divergence=none"
            )

    @property
    def needs_bank(self) -> bool:
        """Divergences over pi_0's samples read them from the reference bank."""
        return self.divergence is not None and self.divergence.samples == "reference"

    @property
    def needs_reference_worker(self) -> bool:
        """Divergences over the policy's samples need log pi_0 of each rollout, computed online."""
        return self.divergence is not None and self.divergence.samples == "policy"

    def training_prompt_ids(self, all_ids: list[str], bank) -> list[str]:
        return list(all_ids)

    def bank_prompt_ids(self, all_ids: list[str], bank) -> list[str]:
        return list(all_ids)

    def objective(self) -> Objective:
        c = self.cfg
        return Objective(
            policy_loss=c.policy_loss,
            policy_kwargs={"eps_low": c.eps_low, "eps_high": c.eps_high, "dual_clip": c.dual_clip},
            entropy_coef=c.entropy_coef,
            divergence=self.div_cfg.name,
            divergence_params=dict(self.div_cfg.params),
            divergence_coef=c.divergence_coef,
            divergence_source="bank" if self.needs_bank else "rollout",
            aggregation=c.aggregation,
            aggregation_norm=c.aggregation_norm,
            log_ratio_clamp=self.div_cfg.log_ratio_clamp,
            bank_weighting=c.bank_weighting,
        )


ALGORITHMS: Registry[type[Algorithm]] = Registry("algorithm")


def build_algorithm(cfg: AlgorithmConfig, divergence: DivergenceConfig) -> Algorithm:
    return ALGORITHMS.get(cfg.name)(cfg, divergence)
