"""Data-parallel learner ranks as Ray actors, driven as one object.

`LearnerGroup` starts one actor per rank (a thin wrapper around the plain `Learner`), sets up
their process group, and fans every call out to all ranks: each rank gets its contiguous shard of
every source, the ranks all-reduce gradients inside DeepSpeed, and results come from rank 0
(weights, client state) or are combined over ranks (metrics). With world_size=1 and
use_ray=False it runs the plain `Learner` in this process instead, for tests and debugging.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch

from rlvr.batch import TokenBatch
from rlvr.cluster.placement import ActorPlacement
from rlvr.learner.distributed import Rendezvous, free_port, node_ip
from rlvr.learner.learner import Learner, LossFn
from rlvr.learner.microbatch import shard_rows
from rlvr.learner.options import LearnerOptions
from rlvr.rollout.shared_weights import SharedLayout
from rlvr.rollout.stored_weights import StoredWeights

# Metrics that are not per-rank averages: summed over ranks, or the slowest rank's.
_SUMMED = {"tokens"}
_MAXED = {"time_s"}


class LearnerWorker:
    """The body of one rank's Ray actor: builds a `Learner` once the rendezvous is known."""

    def __init__(self) -> None:
        self.learner: Learner | None = None

    def rendezvous_address(self) -> tuple[str, int]:
        """Rank 0's node address and a free port on it, for every rank's MASTER_ADDR/PORT."""
        return node_ip(), free_port()

    def setup(
        self, model_path: str, options: LearnerOptions, rank: int, world_size: int, address: tuple[str, int]
    ) -> int:
        """Build this rank's Learner; `address` is rank 0's `rendezvous_address()` (Ray resolves it
        before the call, so the driver never waits for it)."""
        self.learner = Learner(model_path, options, rendezvous=Rendezvous(rank, world_size, *address))
        return self.learner.rank

    def global_step(self) -> int:
        return self.learner.global_step if self.learner else 0

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.learner is None:
            raise RuntimeError("LearnerWorker.setup was not called")
        return getattr(self.learner, method)(*args, **kwargs)


class LearnerGroup:
    """`world_size` data-parallel learner ranks with the `Learner` API.

    Batches passed to `train_step` must have a multiple of `world_size` rows per source (so every
    rank runs the same number of micro-steps, which the collectives require); `compute_logprobs`
    accepts any size. Ray must be initialized by the caller when use_ray is true.
    """

    def __init__(
        self,
        world_size: int,
        model_path: str | Path,
        options: LearnerOptions | None = None,
        *,
        use_ray: bool = True,
        env: dict[str, str] | None = None,
        wait: bool = True,
        warm: bool = False,
    ) -> None:
        self.world_size = world_size
        self.options = options = options or LearnerOptions()
        self.model_path = str(model_path)
        self._local: Learner | None = None
        self._actors: list[Any] = []
        self._starting: list[Any] = []  # setup futures until wait_ready()
        self.placement: ActorPlacement | None = None
        self.nodes: list[str] = []  # the node id of each rank (Ray runs only)
        self._warm_pool: Any = None
        if world_size < 1:
            raise ValueError(f"world_size must be >= 1, got {world_size}")
        if not use_ray:
            if world_size != 1:
                raise ValueError("use_ray=False runs one rank in this process; use Ray for world_size > 1")
            self._local = Learner(self.model_path, options)
            return

        import ray

        if not ray.is_initialized():
            raise RuntimeError(
                "LearnerGroup(use_ray=True) needs ray.init() first (or use_ray=False for one local rank)"
            )
        env_vars = dict(env or {})
        # Actors on other nodes do not inherit this process's environment: forward DeepSpeed's op
        # cache so they reuse compiled ops (a compile costs minutes on CPU).
        if "TORCH_EXTENSIONS_DIR" in os.environ:
            env_vars.setdefault("TORCH_EXTENSIONS_DIR", os.environ["TORCH_EXTENSIONS_DIR"])
        runtime_env = {"env_vars": env_vars} if env_vars else None
        actor_cls = ray.remote(LearnerWorker)
        # One bundle per rank (cluster.placement: PACK or SPREAD), so ranks land the same way each run.
        self.placement = ActorPlacement(
            "learner rank", world_size, options.num_cpus_per_rank, options.num_gpus_per_rank
        )
        self.nodes = self.placement.nodes
        # cluster.warm: a claimed warm rank imported DeepSpeed before this run (rlvr.cluster.warm)
        if warm:
            from rlvr.cluster.warm import LEARNER_IMPORTS, WarmPool

            self._warm_pool = WarmPool("learner", LEARNER_IMPORTS)
            join = self._warm_pool.join_options(options.num_threads, options.num_cpus_per_rank)
        for rank in range(world_size):
            actor = self._warm_pool.claim(self.nodes[rank]) if self._warm_pool else None
            if actor is None:
                actor = actor_cls.options(
                    num_cpus=options.num_cpus_per_rank,
                    num_gpus=options.num_gpus_per_rank,
                    runtime_env=runtime_env,
                    **self.placement.options(rank),
                ).remote()
            else:
                actor.configure.remote(env=env_vars, **join)
            self._actors.append(actor)
        # All ranks must be set up concurrently: init_process_group blocks until everyone joins.
        # Rank 0's address goes to every setup as an object ref: the driver does not wait for the
        # actors' processes to start.
        address = self._actors[0].rendezvous_address.remote()
        self._starting = [
            a.setup.remote(self.model_path, options, rank, world_size, address)
            for rank, a in enumerate(self._actors)
        ]
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Wait for every rank's model and DeepSpeed engine (`wait=False` returns before that, so
        that other actors can start meanwhile); raises a rank's start-up error."""
        if self._starting:
            import ray

            starting, self._starting = self._starting, []
            ray.get(starting)

    # ------------------------------------------------------------------ fan-out helpers

    def _all(self, method: str, per_rank_args: list[tuple] | None = None, **kwargs: Any) -> list[Any]:
        if self._local is not None:
            args = per_rank_args[0] if per_rank_args else ()
            return [getattr(self._local, method)(*args, **kwargs)]
        import ray

        per_rank_args = per_rank_args or [()] * self.world_size
        return ray.get(
            [
                a.call.remote(method, *args, **kwargs)
                for a, args in zip(self._actors, per_rank_args, strict=True)
            ]
        )

    def _shard(self, batch: TokenBatch, rank: int) -> TokenBatch:
        return batch.select(shard_rows(len(batch), self.world_size, rank))

    # ------------------------------------------------------------------ Learner API

    def train_step(
        self, batches: dict[str, TokenBatch], loss_fn: LossFn, *, micro_batch_size: int | None = None
    ) -> dict[str, float]:
        """One optimizer step on the global batch; metrics averaged over ranks ("tokens" summed,
        "time_s" the slowest rank's, "tokens_per_s" the group's). micro_batch_size is per rank."""
        for name, b in batches.items():
            if len(b) % self.world_size:
                raise ValueError(
                    f"source {name!r} has {len(b)} rows, not a multiple of world_size={self.world_size}; "
                    "every rank must run the same micro-steps. Drop or add rows (e.g. whole GRPO groups)."
                )
        shards = [
            ({n: self._shard(b, r) for n, b in batches.items()}, loss_fn) for r in range(self.world_size)
        ]
        results = self._all("train_step", shards, micro_batch_size=micro_batch_size)
        return _combine_metrics(results)

    def compute_logprobs(
        self, batch: TokenBatch, micro_batch_size: int | None = None, **kwargs: Any
    ) -> torch.Tensor:
        """Log-probs [B, L] of the whole batch, computed data-parallel (rows split over ranks)."""
        B = len(batch)
        # Pad to equal shards with copies of the last row: under ZeRO-3 every rank must run the
        # same number of forwards (each one all-gathers parameters).
        per = math.ceil(B / self.world_size)
        padded = batch
        if per * self.world_size != B:
            extra = torch.full((per * self.world_size - B,), B - 1, dtype=torch.long)
            padded = batch.select(torch.cat([torch.arange(B), extra]))
        shards = [(self._shard(padded, r), micro_batch_size) for r in range(self.world_size)]
        outs = self._all("compute_logprobs", shards, **kwargs)
        return torch.cat(outs)[:B]

    def state_dict_for_sync(self) -> dict[str, torch.Tensor]:
        """Full HF-named weights from rank 0 (all ranks take part in the ZeRO-3 gather)."""
        return self._all("state_dict_for_sync")[0]

    def weights_for_sync(self) -> StoredWeights:
        """Rank 0's weights in the object store (a handle; the bytes never pass through here)."""
        return self._all("weights_for_sync")[0]

    def export_hf(self, out_dir: str | Path) -> Path:
        return self._all("export_hf", [(str(out_dir),)] * self.world_size)[0]

    def save_checkpoint(self, ckpt_dir: str | Path, client_state: dict[str, Any] | None = None) -> str:
        return self._all("save_checkpoint", [(str(ckpt_dir), client_state)] * self.world_size)[0]

    def load_checkpoint(self, ckpt_dir: str | Path, tag: str | None = None) -> dict[str, Any]:
        return self._all("load_checkpoint", [(str(ckpt_dir), tag)] * self.world_size)[0]

    # ------------------------------------------------------------------ NCCL weight sync (GPU)

    def open_weight_sync(self, workers: list[Any], *, ranks_per_worker: int = 1) -> None:
        """Every rank builds its NCCL weight sender (rlvr.rollout.engines.vllm_nccl), at once: rank
        0 opens the group with the rollout `workers` (RolloutGroup.workers) at an address on its
        node; under ZeRO-3 the others join each send's gathers."""
        if self._local is not None:
            addr, port = node_ip(), free_port()
        else:
            import ray

            addr, port = ray.get(self._actors[0].rendezvous_address.remote())
        per_rank = [
            (list(workers) if r == 0 else [], addr, port, ranks_per_worker) for r in range(self.world_size)
        ]
        self._all("open_weight_sync", per_rank)

    def send_weights(self, version: int | None = None) -> float:
        """Broadcast the current weights to the rollout workers; every rank takes part (the
        ZeRO-3 gather is collective, so all are called before any is waited on). Returns the
        slowest rank's seconds."""
        return max(self._all("send_weights", [(version,)] * self.world_size))

    def close_weight_sync(self) -> None:
        self._all("close_weight_sync")

    # weight_sync=shared_memory (rlvr.rollout.shared_weights)
    def shared_weight_specs(self) -> list[tuple[str, tuple[int, ...]]]:
        return self._all("shared_weight_specs")[0]

    def create_shared_weights(self, layout: SharedLayout) -> SharedLayout:
        """Rank 0 creates the slot files; returns the layout with their paths."""
        return self._all("create_shared_weights", [(layout,)] * self.world_size)[0]

    def write_shared_weights(self, slot: int) -> float:
        """Rank 0 copies the weights into `slot` (all ranks take part in ZeRO-3's gathers);
        returns the slowest rank's seconds."""
        return max(self._all("write_shared_weights", [(slot,)] * self.world_size))

    def close_shared_weights(self) -> None:
        self._all("close_shared_weights")

    def torch_threads(self) -> list[int]:
        """Each rank's torch threads."""
        return self._all("torch_threads")

    @property
    def global_step(self) -> int:
        if self._local is not None:
            return self._local.global_step
        import ray

        return ray.get(self._actors[0].global_step.remote())

    def shutdown(self) -> None:
        """Kill the rank actors (their process group dies with them)."""
        import ray

        for a in self._actors:
            ray.kill(a)
        self._actors = []
        self._local = None
        if self.placement is not None:
            self.placement.remove()
            self.placement = None
        if self._warm_pool is not None:  # as many warm ranks for the next run as this one used
            self._warm_pool.refill(self.nodes)
            self._warm_pool = None


def _combine_metrics(results: list[dict[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key in results[0]:
        values = [r[key] for r in results]
        if key in _SUMMED:
            out[key] = sum(values)
        elif key in _MAXED:
            out[key] = max(values)
        else:
            out[key] = sum(values) / len(values)
    out["tokens_per_s"] = out["tokens"] / out["time_s"] if out.get("time_s") else math.nan
    return out
