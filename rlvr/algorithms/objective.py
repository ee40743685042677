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
    aggregation_norm: float | None = None  # seq-mean-token-sum-norm's constant
    log_ratio_clamp: float = 20.0
    # "paper": bank rows travel in micro-batches of their own (Learner.train_step's
    # separate_sources), so a call sees "rollout" or "bank", never both; see AlgorithmConfig.
    bank_weighting: str = "joint"

    @property
    def needs_entropy(self) -> bool:
        # Entropy is cheap inside the chunked log-prob pass; compute it for logging too.
        return True

    @property
    def separate_sources(self) -> bool:
        return self.bank_weighting == "paper" and "bank" in self.sources()

    def sources(self) -> list[str]:
        return ["rollout", "bank"] if self.divergence and self.divergence_source == "bank" else ["rollout"]

    def __call__(
        self, outputs: dict[str, Any], batches: dict[str, Any]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss of one micro-batch: the policy loss on its rollouts plus coef x the divergence on
        its divergence source, each term present when its rows are (with separate sources a
        micro-batch holds one of them)."""
        loss, metrics = None, {}
        if "rollout" in batches:
            rollout, out = batches["rollout"], outputs["rollout"]
            # Without the sampler's log-probs (not asked for: one update per batch, sampled with
            # the current weights) the behaviour policy is the learner's own, detached: ratio 1.
            logp_old = rollout.tensors.get("logp_old")
            loss, pg_metrics = POLICY_LOSSES.get(self.policy_loss)(
                out.logprobs,
                out.logprobs.detach() if logp_old is None else logp_old,
                rollout.tensors["advantages"],
                rollout.loss_mask,
                entropy=getattr(out, "entropy", None),
                entropy_coef=self.entropy_coef,
                aggregation=self.aggregation,
                aggregation_norm=self.aggregation_norm,
                **self.policy_kwargs,
            )
            metrics = {f"policy/{k}": float(v) for k, v in pg_metrics.items()}
            metrics["loss/policy"] = float(loss.detach())
        if self.divergence and self.divergence_coef != 0.0 and self.divergence_source in batches:
            div = get_divergence(self.divergence, **self.divergence_params)
            batch, o = batches[self.divergence_source], outputs[self.divergence_source]
            d_loss, d_metrics = divergence_loss(
                div,
                o.logprobs,
                batch.tensors["logp_ref"],
                batch.loss_mask,
                aggregation=self.aggregation,
                aggregation_norm=self.aggregation_norm,
                rewards=batch.tensors.get("rewards"),
                log_ratio_clamp=self.log_ratio_clamp,
            )
            term = self.divergence_coef * d_loss
            loss = term if loss is None else loss + term
            metrics.update({f"divergence/{k}": float(v) for k, v in d_metrics.items()})
            metrics["loss/divergence"] = float(d_loss.detach())
        if loss is None:
            raise ValueError(f"the objective got a micro-batch with no source it uses: {sorted(batches)}")
        metrics["loss/total"] = float(loss.detach())
        return loss, metrics
