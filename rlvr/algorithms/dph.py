"""DPH-RL (arXiv 2509.07430): explore on D_exp, rehearse pi_0 on D_pef.

The reference bank splits prompts: D_pef holds those whose pi_0 samples were (nearly) all correct,
D_exp the rest. Rollouts and the policy loss use D_exp only; the divergence term (forward KL, JS,
alpha, ... — any reference-sample divergence) runs on stored pi_0 samples of D_pef, so no online
reference model is needed.
"""

from rlvr.algorithms.base import ALGORITHMS, Algorithm


@ALGORITHMS.register("dph")
class DPH(Algorithm):
    name = "dph"

    def validate(self) -> None:
        super().validate()
        if self.divergence is None or self.divergence.samples != "reference":
            got = (
                "none"
                if self.divergence is None
                else f"{self.divergence.name} (samples={self.divergence.samples})"
            )
            raise ValueError(
                f"algorithm=dph needs a divergence over pi_0's samples (forward_kl, js, alpha, tv, ...); "
                f"got divergence={got}"
            )

    def training_prompt_ids(self, all_ids, bank):
        exp = set(bank.exp_prompt_ids)
        return [i for i in all_ids if i in exp]

    def bank_prompt_ids(self, all_ids, bank):
        pef = set(bank.pef_prompt_ids)
        return [i for i in all_ids if i in pef]
