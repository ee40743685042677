"""The loss the learner optimizes: policy loss on rollouts + coef * divergence on its samples.

An `Objective` is a plain picklable callable handed to the learner ranks; the learner computes
log-probs for every batch source ("rollout", and "bank" when the divergence runs over samples
of pi_0) and calls it once per micro-batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from rlvr.objectives import divergence_loss, get_divergence
from rlvr.objectives.policy_loss import POLICY_LOSSES


@dataclass
class Objective:
    policy_loss: str = "ppo_clip"
    policy_kwargs: dict[str, Any] = field(default_factory=dict)  # eps_low, eps_high, dual_clip
    entropy_coef: float = 0.0
    divergence: str | None = None
    divergence_params: dict[str, Any] = field(default_factory=dict)
    divergence_coef: float = 0.0
    divergence_source: str = "rollout"  # "rollout" (policy samples) or "bank" (pi_0 samples)
    aggregation: str = "token-mean"  # of both terms (rlvr.objectives.aggregation)
    log_ratio_clamp: float = 20.0

    @property
    def needs_entropy(self) -> bool:
        # Entropy is cheap inside the chunked log-prob pass; compute it for logging too.
        return True

    def sources(self) -> list[str]:
        return ["rollout", "bank"] if self.divergence and self.divergence_source == "bank" else ["rollout"]

    def __call__(
        self, outputs: dict[str, Any], batches: dict[str, Any]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        rollout, out = batches["rollout"], outputs["rollout"]
        entropy = getattr(out, "entropy", None)
        loss, metrics = POLICY_LOSSES.get(self.policy_loss)(
            out.logprobs,
            rollout.tensors["logp_old"],
            rollout.tensors["advantages"],
            rollout.loss_mask,
            entropy=entropy,
            entropy_coef=self.entropy_coef,
            aggregation=self.aggregation,
            **self.policy_kwargs,
        )
        metrics = {f"policy/{k}": float(v) for k, v in metrics.items()}
        metrics["loss/policy"] = float(loss.detach())
        if self.divergence and self.divergence_coef != 0.0:
            div = get_divergence(self.divergence, **self.divergence_params)
            batch, o = batches[self.divergence_source], outputs[self.divergence_source]
            d_loss, d_metrics = divergence_loss(
                div,
                o.logprobs,
                batch.tensors["logp_ref"],
                batch.loss_mask,
                aggregation=self.aggregation,
                rewards=batch.tensors.get("rewards"),
                log_ratio_clamp=self.log_ratio_clamp,
            )
            loss = loss + self.divergence_coef * d_loss
            metrics.update({f"divergence/{k}": float(v) for k, v in d_metrics.items()})
            metrics["loss/divergence"] = float(d_loss.detach())
        metrics["loss/total"] = float(loss.detach())
        return loss, metrics
