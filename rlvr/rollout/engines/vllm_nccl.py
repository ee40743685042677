"""GPU weight sync: learner ranks broadcast weights to vLLM rollout workers over NCCL.

NOT RUN ON THIS PROJECT'S MACHINES (CPU only): the NCCL transfer is written against vLLM 0.32's
weight-transfer API (`vllm.distributed.weight_transfer`, read from the installed sources). What
CPU can run is tested: the ZeRO-3 gather that feeds it, through vLLM's own trainer engine
(tests/gpu_readiness/test_zero3_gather.py).

How it fits together:
- Each rollout worker's engine is built with `VLLMEngine(..., weight_sync="nccl")`, which turns on
  `WeightTransferConfig(backend="nccl")` inside vLLM.
- EVERY learner rank builds one `NcclWeightSender` over its model (same order on all ranks).
  Rank 0 is the sender: it opens an NCCL group of 1 + sum(tensor-parallel ranks) members with the
  rollout workers. Under ZeRO-3 the other ranks join only the per-parameter all-gather (vLLM's
  non-sender trainer ranks); under ZeRO 0-2 they hold full weights already and do nothing.
- After each optimizer step every rank calls `send()`: rank 0 tells the workers to start an
  update, gathers and broadcasts one parameter at a time (packed into buffers) while the workers
  receive and load them, then finishes the update; the workers reset their prefix cache.
The trainer does not drive this yet: it needs a Learner method that builds the sender on each
rank and a LearnerGroup fan-out (README, "GPU: what has not run").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import torch
from vllm.distributed.weight_transfer.base import ParamMeta, WeightSource

from rlvr.learner.weights import full_shape, iter_full_parameters


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


class GatheredWeightSource(WeightSource):
    """vLLM `WeightSource` over a (possibly ZeRO-3-sharded) HF model.

    vLLM's `ModuleSource` reads `p.shape`, which under ZeRO-3 is the local partition (0 elements
    on most ranks), and would declare and send wrong shapes. This source declares each
    parameter's full shape (`ds_shape`) and all-gathers one parameter per iteration step, on
    every rank in the same order; ranks that do not send (`keep=False`) yield None.
    """

    def __init__(self, model: torch.nn.Module, *, zero3: bool, keep: bool = True) -> None:
        self.model = model
        self.zero3 = zero3
        self.keep = keep

    def metadata(self) -> list[ParamMeta]:
        return [ParamMeta(n, p.dtype, full_shape(p)) for n, p in self.model.named_parameters()]

    def __iter__(self) -> Iterator[tuple[str, torch.Tensor | None]]:
        return iter_full_parameters(self.model, zero3=self.zero3, keep=self.keep)


class NcclWeightSender:
    """One per learner rank; every rank builds it (rank 0 after the rollout workers exist).

    model:            the rank's HF model (`Learner.hf_model`): HF parameter names, full on
                      this GPU, or ZeRO-3 partitions when `zero3`.
    rank:             the learner rank; 0 sends.
    workers:          RolloutWorker actor handles (`RolloutGroup.workers`); needed on rank 0.
    master_address/master_port: a free TCP endpoint on rank 0's node for the rendezvous
                      (`LearnerWorker.rendezvous_address` gives one).
    ranks_per_worker: the rollout engines' tensor_parallel_size.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        rank: int,
        zero3: bool,
        workers: list[Any],
        master_address: str,
        master_port: int,
        ranks_per_worker: int = 1,
        packed: bool = True,
    ) -> None:
        from vllm.distributed.weight_transfer.nccl_engine import (
            NCCLTrainerInitInfo,
            NCCLTrainerWeightTransferEngine,
        )

        if not torch.cuda.is_available():
            raise RuntimeError(
                "rollout.engine_options.weight_sync=nccl needs a CUDA device on every learner rank; "
                "on CPU use weight_sync=in_process or disk"
            )
        if rank == 0 and not workers:
            raise ValueError("NcclWeightSender on rank 0 needs the rollout workers' actor handles")
        self.rank = rank
        self.workers = list(workers) if rank == 0 else []
        self.version = 0
        self.engine = None
        if rank != 0 and not zero3:
            return  # full weights live on rank 0 already: nothing to gather, nothing to send
        self.client = RolloutWorkersSyncClient(self.workers, ranks_per_worker)
        init_info = NCCLTrainerInitInfo(
            master_address=master_address,
            master_port=master_port,
            world_size=1 + len(self.workers) * ranks_per_worker,
            packed=packed,
            rank=rank,
        )
        source = GatheredWeightSource(model, zero3=zero3, keep=rank == 0)
        self.engine = NCCLTrainerWeightTransferEngine.trainer_init(
            init_info, client=self.client, source=source
        )

    def send(self, version: int | None = None) -> float:
        """Broadcast the current weights (every rank calls it); returns seconds taken."""
        start = time.perf_counter()
        if self.engine is not None:
            self.engine.send_weights()
        self.version = self.version + 1 if version is None else version
        if self.rank == 0:
            import ray

            ray.get([w.set_weight_version.remote(self.version) for w in self.workers])
        return time.perf_counter() - start

    def close(self) -> None:
        if self.engine is None:
            return
        self.engine.shutdown()
        if self.rank == 0:
            self.client.shutdown_weight_transfer_engine()
        self.engine = None
