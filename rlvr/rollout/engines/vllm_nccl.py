"""GPU weight sync: the trainer broadcasts weights to vLLM rollout workers over NCCL.

NOT VERIFIED ON THIS PROJECT'S MACHINES (CPU only): written against vLLM 0.32's native
weight-transfer API (`vllm.distributed.weight_transfer`, read from the installed sources) and
never run here. Import it only on GPU machines; nothing on the CPU path imports it.

How it fits together:
- Each rollout worker's engine is built with `VLLMEngine(..., weight_sync="nccl")`, which turns on
  `WeightTransferConfig(backend="nccl")` inside vLLM.
- The trainer's sending rank (learner rank 0) builds one `NcclWeightSender` with the rollout
  workers' actor handles. It opens an NCCL group of 1 + sum(tensor-parallel ranks) members
  (trainer = rank 0) through vLLM's `StatelessProcessGroup` + `PyNcclCommunicator`.
- After each optimizer step it calls `send()`: vLLM's `NCCLTrainerWeightTransferEngine` tells the
  workers to start an update, broadcasts every parameter (packed into buffers) while the
  workers receive and load them layer by layer, then finishes the update; the workers reset
  their prefix cache.
The object-store path (`RolloutGroup.update_weights`) stays available on GPU too; it is slower
for big models (a CPU copy per worker) but needs no extra process group.
"""

from __future__ import annotations

import time
from typing import Any

import torch


class RolloutWorkersSyncClient:
    """vLLM's `VLLMWeightSyncClient` protocol over RolloutWorker actors (one vLLM engine each).

    vLLM's trainer engine assumes a single engine whose workers sit at ranks 1..N; with several
    independent engines each needs its own offset, so this client gives worker k
    `rank_offset = 1 + k * ranks_per_worker`.
    """

    def __init__(self, workers: list[Any], ranks_per_worker: int = 1) -> None:
        self.workers = list(workers)
        self.ranks_per_worker = ranks_per_worker

    def _all(self, method: str, *args: Any) -> None:
        import ray

        ray.get([w.engine_call.remote(method, *args) for w in self.workers])

    def init_weight_transfer_engine(self, init_info: dict[str, Any]) -> None:
        import ray

        ray.get(
            [
                w.engine_call.remote(
                    "init_weight_transfer", {**init_info, "rank_offset": 1 + k * self.ranks_per_worker}
                )
                for k, w in enumerate(self.workers)
            ]
        )

    def shutdown_weight_transfer_engine(self) -> None:
        self._all("shutdown_weight_transfer")

    def start_weight_update(self) -> None:
        self._all("start_weight_update")

    def update_weights(self, update_info: dict[str, Any] | list[dict[str, Any]]) -> None:
        self._all("receive_weights", update_info)

    def finish_weight_update(self, weight_version: str | None = None) -> None:
        self._all("finish_weight_update")


class NcclWeightSender:
    """Trainer side. Create on the sending trainer rank, after the rollout workers exist.

    source:           the trainer's model (an `nn.Module` whose `named_parameters()` carry HF
                      names and are full tensors on this GPU) or any vLLM `WeightSource` (e.g.
                      one that gathers ZeRO-3 partitions or strips a "module." prefix).
    workers:          RolloutWorker actor handles (`RolloutGroup.workers`).
    master_address/master_port: a free TCP endpoint on this node for the rendezvous.
    ranks_per_worker: the rollout engines' tensor_parallel_size.
    """

    def __init__(
        self,
        source: Any,
        workers: list[Any],
        *,
        master_address: str,
        master_port: int,
        ranks_per_worker: int = 1,
        packed: bool = True,
    ) -> None:
        from vllm.distributed.weight_transfer.base import ModuleSource
        from vllm.distributed.weight_transfer.nccl_engine import (
            NCCLTrainerInitInfo,
            NCCLTrainerWeightTransferEngine,
        )

        if not torch.cuda.is_available():
            raise RuntimeError("NcclWeightSender needs a CUDA device; on CPU use RolloutGroup.update_weights")
        self.workers = list(workers)
        self.client = RolloutWorkersSyncClient(self.workers, ranks_per_worker)
        init_info = NCCLTrainerInitInfo(
            master_address=master_address,
            master_port=master_port,
            world_size=1 + len(self.workers) * ranks_per_worker,
            packed=packed,
            rank=0,
        )
        weights = ModuleSource(source) if isinstance(source, torch.nn.Module) else source
        self.engine = NCCLTrainerWeightTransferEngine.trainer_init(
            init_info, client=self.client, source=weights
        )
        self.version = 0

    def send(self, version: int | None = None) -> float:
        """Broadcast the current weights to every worker; returns seconds taken."""
        import ray

        start = time.perf_counter()
        self.engine.send_weights()
        self.version = self.version + 1 if version is None else version
        ray.get([w.set_weight_version.remote(self.version) for w in self.workers])
        return time.perf_counter() - start

    def close(self) -> None:
        self.engine.shutdown()
        self.client.shutdown_weight_transfer_engine()
