"""Batches of bank samples for the divergence term, in a seeded order that resumes exactly."""

from __future__ import annotations

import random

from rlvr.bank.store import BankSample, ReferenceBank
from rlvr.batch import TokenBatch, pack_sequences


class BankSampler:
    """Cycles through the samples of `prompt_ids` (D_pef for DPH-RL) in seeded shuffled epochs.

    `state()` / `load_state()` capture (epoch, cursor) so a resumed run draws the same batches.
    """

    def __init__(self, bank: ReferenceBank, prompt_ids: list[str], *, batch_size: int, pad_id: int,
                 seed: int = 0) -> None:
        self.samples: list[BankSample] = bank.samples(prompt_ids)
        if not self.samples:
            raise ValueError(f"bank {bank.path} has no samples for the {len(prompt_ids)} requested prompts "
                             "(for DPH-RL: no prompt reached bank.pef_threshold; lower it or use more samples)")
        self.batch_size, self.pad_id, self.seed = batch_size, pad_id, seed
        self.epoch, self.cursor = 0, 0
        self._order = self._permutation(0)

    def _permutation(self, epoch: int) -> list[int]:
        order = list(range(len(self.samples)))
        random.Random(f"{self.seed}/{epoch}").shuffle(order)
        return order

    def next_batch(self) -> TokenBatch:
        picked: list[BankSample] = []
        while len(picked) < self.batch_size:
            if self.cursor >= len(self._order):
                self.epoch, self.cursor = self.epoch + 1, 0
                self._order = self._permutation(self.epoch)
            picked.append(self.samples[self._order[self.cursor]])
            self.cursor += 1
        return pack_sequences([s.prompt_token_ids for s in picked], [s.response_token_ids for s in picked],
                              self.pad_id, per_token={"logp_ref": [s.logp_ref for s in picked]})

    def state(self) -> dict:
        return {"epoch": self.epoch, "cursor": self.cursor}

    def load_state(self, state: dict) -> None:
        self.epoch, self.cursor = int(state["epoch"]), int(state["cursor"])
        self._order = self._permutation(self.epoch)
