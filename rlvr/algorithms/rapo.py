"""RAPO (arXiv 2510.03865): forward KL to a reward-reweighted reference, on the policy's samples.

pi_hat(y) ~ pi_0(y)^phi(r(y)): correct samples keep pi_0's weight, wrong ones are flattened, so the
term pulls toward what pi_0 did well without forbidding exploration elsewhere. Needs log pi_0 of
each rollout (the online reference worker) and the rewards (passed to the divergence).
"""

from rlvr.algorithms.base import ALGORITHMS, Algorithm


@ALGORITHMS.register("rapo")
class RAPO(Algorithm):
    name = "rapo"

    def validate(self) -> None:
        super().validate()
        if self.divergence is None or self.divergence.name != "rapo":
            raise ValueError("algorithm=rapo needs divergence=rapo")
