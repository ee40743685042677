"""Endless seeded shuffled epochs over N items, with a state that resumes exactly."""

from __future__ import annotations

import random


class SeededCycle:
    """Yields indices 0..n-1 in a fresh seeded permutation each epoch.

    `state()` is (epoch, cursor); `load_state` restores it, so a resumed run draws the same items.
    """

    def __init__(self, n: int, seed: int | str = 0) -> None:
        if n <= 0:
            raise ValueError("SeededCycle needs at least one item")
        self.n, self.seed = n, seed
        self.epoch, self.cursor = 0, 0
        self._order = self._permutation(0)

    def _permutation(self, epoch: int) -> list[int]:
        order = list(range(self.n))
        random.Random(f"{self.seed}/{epoch}").shuffle(order)
        return order

    def take(self, k: int) -> list[int]:
        out = []
        while len(out) < k:
            if self.cursor >= self.n:
                self.epoch, self.cursor = self.epoch + 1, 0
                self._order = self._permutation(self.epoch)
            out.append(self._order[self.cursor])
            self.cursor += 1
        return out

    def state(self) -> dict:
        return {"epoch": self.epoch, "cursor": self.cursor}

    def load_state(self, state: dict) -> None:
        self.epoch, self.cursor = int(state["epoch"]), int(state["cursor"])
        self._order = self._permutation(self.epoch)
