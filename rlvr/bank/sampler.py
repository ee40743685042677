"""Batches of bank samples for the divergence term, in a seeded order that resumes exactly."""

from __future__ import annotations

from rlvr.bank.store import BankSample, ReferenceBank
from rlvr.batch import TokenBatch, pack_sequences
from rlvr.data.cycle import SeededCycle

REHEARSE = ("correct", "all")


class BankSampler:
    """Cycles through the samples of `prompt_ids` (D_pef for DPH-RL) in seeded shuffled epochs.

    rehearse: "correct" keeps only the samples the verifier accepted, as DPH-RL's D_pef stores
    (the authors keep a pi_0 sample of a near-perfect prompt only if it is correct); "all" keeps
    every stored sample of those prompts, wrong ones included (rlvr before 0.2).
    """

    def __init__(
        self,
        bank: ReferenceBank,
        prompt_ids: list[str],
        *,
        batch_size: int,
        pad_id: int,
        seed: int = 0,
        rehearse: str = "correct",
    ) -> None:
        if rehearse not in REHEARSE:
            raise ValueError(f"bank.rehearse must be one of {', '.join(REHEARSE)}; got {rehearse!r}")
        stored = bank.samples(prompt_ids)
        self.samples: list[BankSample] = [s for s in stored if s.correct] if rehearse == "correct" else stored
        if not self.samples:
            which = "correct samples" if rehearse == "correct" and stored else "samples"
            raise ValueError(
                f"bank {bank.path} has no {which} for the {len(prompt_ids)} requested prompts "
                "(for DPH-RL: no prompt reached bank.pef_threshold; lower it or sample more)"
            )
        self.rehearse = rehearse
        self.batch_size, self.pad_id = batch_size, pad_id
        self.cycle = SeededCycle(len(self.samples), seed=f"bank/{seed}")

    def next_batch(self, batch_size: int | None = None) -> TokenBatch:
        picked = [self.samples[i] for i in self.cycle.take(batch_size or self.batch_size)]
        return pack_sequences(
            [s.prompt_token_ids for s in picked],
            [s.response_token_ids for s in picked],
            self.pad_id,
            per_token={"logp_ref": [s.logp_ref for s in picked]},
        )

    def state(self) -> dict:
        return self.cycle.state()

    def load_state(self, state: dict) -> None:
        self.cycle.load_state(state)
