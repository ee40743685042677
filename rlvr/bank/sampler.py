"""Batches of bank samples for the divergence term, in a seeded order that resumes exactly."""

from __future__ import annotations

from rlvr.bank.store import BankSample, ReferenceBank
from rlvr.batch import TokenBatch, pack_sequences
from rlvr.data.cycle import SeededCycle

REHEARSE = ("correct", "all")
ORDERS = ("chunks", "shuffled")
# The DPH-RL authors' verl fork (seamoke/DPH-RL, verl/trainer/ppo/ray_trainer.py) stores the
# correct pi_0 samples in generation order (a prompt's samples side by side), takes that list
# three times over, cuts it into consecutive chunks of the step's bank rows (the remainder
# dropped), clones every chunk 100 times and shuffles the clones: a step rehearses one chunk.
CHUNK_REPEATS = 3
CHUNK_CLONES = 100


class BankSampler:
    """Cycles through the samples of `prompt_ids` (D_pef for DPH-RL) in a seeded order.

    rehearse: "correct" keeps only the samples the verifier accepted, as DPH-RL's D_pef stores
    (the authors keep a pi_0 sample of a near-perfect prompt only if it is correct); "all" keeps
    every stored sample of those prompts, wrong ones included (rlvr before 0.2).
    order: "chunks" (the authors', see CHUNK_REPEATS): a step's rows are one chunk of `batch_size`
    consecutive stored samples, so they come from a few prompts, each with its samples side by
    side, and the learner computes each prompt once per micro-batch; chunks are drawn from a
    seeded shuffle of CHUNK_CLONES clones of each. "shuffled" (the only order before this option): rows one by one
    in seeded shuffled epochs, so a step's rows rarely share a prompt.

    `next_batch(k)` takes the next k rows of that stream: a step whose mini-batches ask for
    slices of `batch_size` rows in turn consumes exactly one chunk.
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
        order: str = "chunks",
    ) -> None:
        if rehearse not in REHEARSE:
            raise ValueError(f"bank.rehearse must be one of {', '.join(REHEARSE)}; got {rehearse!r}")
        if order not in ORDERS:
            raise ValueError(f"bank.order must be one of {', '.join(ORDERS)}; got {order!r}")
        if batch_size < 1:
            raise ValueError(f"bank rows per step must be at least 1; got {batch_size}")
        stored = bank.samples(prompt_ids)
        self.samples: list[BankSample] = [s for s in stored if s.correct] if rehearse == "correct" else stored
        if not self.samples:
            which = "correct samples" if rehearse == "correct" and stored else "samples"
            raise ValueError(
                f"bank {bank.path} has no {which} for the {len(prompt_ids)} requested prompts "
                "(for DPH-RL: no prompt reached bank.pef_threshold; lower it or sample more)"
            )
        self.rehearse, self.order, self.seed = rehearse, order, seed
        self.pad_id = pad_id
        self.batch_size = batch_size

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        """Setting it (the trainer caps it at the rehearsal samples) recuts the chunks and restarts
        the order; set it before the first batch."""
        self._batch_size = value
        n = len(self.samples)
        if self.order == "chunks":
            self.num_chunks = max(1, CHUNK_REPEATS * n // value)
            self.cycle = SeededCycle(self.num_chunks * CHUNK_CLONES, seed=f"bank-chunks/{self.seed}")
        else:
            self.cycle = SeededCycle(n, seed=f"bank/{self.seed}")
        # "chunks": the chunk being taken and how many of its rows were taken (a full chunk: draw anew)
        self._current, self._row = 0, value

    def chunk(self, index: int) -> list[int]:
        """Sample indices of chunk `index`: consecutive rows of the stored list taken three times over."""
        n, size = len(self.samples), self._batch_size
        return [(index * size + j) % n for j in range(size)]

    def _take(self, k: int) -> list[int]:
        if self.order == "shuffled":
            return self.cycle.take(k)
        out: list[int] = []
        while len(out) < k:
            if self._row >= self._batch_size:
                self._current, self._row = self.cycle.take(1)[0] % self.num_chunks, 0
            step = min(k - len(out), self._batch_size - self._row)
            out += self.chunk(self._current)[self._row : self._row + step]
            self._row += step
        return out

    def next_batch(self, batch_size: int | None = None) -> TokenBatch:
        picked = [self.samples[i] for i in self._take(batch_size or self.batch_size)]
        return pack_sequences(
            [s.prompt_token_ids for s in picked],
            [s.response_token_ids for s in picked],
            self.pad_id,
            per_token={"logp_ref": [s.logp_ref for s in picked]},
        )

    def state(self) -> dict:
        state = self.cycle.state()
        if self.order == "chunks":
            state |= {"order": "chunks", "chunk": self._current, "row": self._row}
        return state

    def load_state(self, state: dict) -> None:
        saved = state.get("order", "shuffled")
        if saved != self.order:
            raise ValueError(
                f"the checkpoint's bank sampler drew rows in bank.order={saved}, this run asks for "
                f"bank.order={self.order}; resume with bank.order={saved}"
            )
        self.cycle.load_state(state)
        if self.order == "chunks":
            self._current, self._row = int(state["chunk"]), int(state["row"])
