"""How new weights reach the rollout workers: opened once, sent after each update, closed at the end.

`rollout.engine_options.weight_sync` chooses:
- in_process / disk / auto (`BroadcastSync`): learner rank 0 gathers a full HF state dict and puts
  it in Ray's object store itself (one copy, rlvr.rollout.stored_weights); the driver passes the
  handle on and every worker loads from that shared memory (in its process, or through a temp
  folder).
- shared_memory (`SharedMemorySync`, CPU, one node, cpu_linear=plain): learner rank 0 copies its
  weights into one of two slot files in /dev/shm laid out as vLLM holds them, and the workers
  compute from that slot from then on (no copy on their side; rlvr.rollout.shared_weights).
- nccl (`NcclSync`, GPU only, never run on a GPU yet): every learner rank builds its
  `NcclWeightSender` (rlvr.rollout.engines.vllm_nccl) and rank 0 broadcasts parameter by
  parameter to the workers through vLLM's weight-transfer API; no full copy leaves the GPUs.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


class BroadcastSync:
    """Full state dict from rank 0, through the object store (put by rank 0), to every worker."""

    def __init__(self, rollout: Any, learner: Any) -> None:
        self.rollout, self.learner = rollout, learner

    def send(self) -> None:
        self.rollout.update_weights(self.learner.weights_for_sync())

    def close(self) -> None:
        pass


class SharedMemorySync:
    """Learner rank 0 writes the slot no worker computes from; then every worker switches to it.

    `send` returns only once every worker has switched (a worker still generating a batch under
    max_staleness switches after it), so the next `send` writes the slot nobody uses any more.
    Opening checks the layout: the learner's initial weights written through it must equal what
    vLLM loaded from the checkpoint, bit for bit.
    """

    def __init__(self, rollout: Any, learner: Any) -> None:
        self.rollout, self.learner = rollout, learner
        self.layout = learner.create_shared_weights(
            rollout.shared_weights_layout(learner.shared_weight_specs())
        )
        try:
            rollout.attach_shared_weights(self.layout, slot=0, version=0)
            learner.write_shared_weights(1)
            differ = rollout.shared_weights_mismatches(0, 1)
            if differ:
                raise ValueError(
                    f"weight_sync=shared_memory: the learner's initial weights, written in vLLM's "
                    f"layout, differ from what vLLM loaded in {len(differ)} parameters (first: "
                    f"{differ[:3]}); use weight_sync=in_process"
                )
        except BaseException:
            learner.close_shared_weights()
            raise
        self.slot = 0
        log.info(
            "weight sync: shared memory, two slots of %.0f MiB (%s)",
            self.layout.nbytes / 2**20,
            self.layout.paths[0],
        )

    def send(self) -> None:
        slot = 1 - self.slot
        self.learner.write_shared_weights(slot)
        self.rollout.use_shared_weights(slot)
        self.slot = slot

    def close(self) -> None:
        self.learner.close_shared_weights()


class NcclSync:
    """Learner ranks -> rollout workers over NCCL (vLLM weight transfer); opened at construction."""

    def __init__(self, rollout: Any, learner: Any, *, ranks_per_worker: int = 1) -> None:
        self.rollout, self.learner = rollout, learner
        # A worker that Ray restarts would not be in the NCCL group: the rollout group must stop
        # (checkpoint, resume) rather than reload it from the object store.
        rollout.nccl_weight_sync = True
        learner.open_weight_sync(rollout.workers, ranks_per_worker=ranks_per_worker)
        self._open = True

    def send(self) -> None:
        self.learner.send_weights()

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        try:
            self.learner.close_weight_sync()
        except Exception as e:  # a failed sync leaves the group unusable; the actors die next anyway
            log.warning("closing the NCCL weight sync failed (%s: %s)", type(e).__name__, e)


def open_weight_sync(
    engine_options: dict[str, Any], rollout: Any, learner: Any
) -> BroadcastSync | SharedMemorySync | NcclSync:
    """The run's weight sync, per `rollout.engine_options` (weight_sync, tensor_parallel_size)."""
    if engine_options.get("weight_sync") == "shared_memory":
        return SharedMemorySync(rollout, learner)
    if engine_options.get("weight_sync") == "nccl":
        return NcclSync(rollout, learner, ranks_per_worker=int(engine_options.get("tensor_parallel_size", 1)))
    return BroadcastSync(rollout, learner)
