"""RolloutGroup: N RolloutWorker actors used as one generator.

Prompts are sharded across workers and the results come back in the caller's order; a weight
update is in the Ray object store once (put by the learner, or here) and every worker reads that
one copy without copying it (rlvr.rollout.stored_weights).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Any, Literal

from rlvr.cluster.placement import ActorPlacement, policy
from rlvr.rollout.engines.base import NamedTensors
from rlvr.rollout.shared_weights import SharedLayout
from rlvr.rollout.stored_weights import StoredWeights, put_weights
from rlvr.rollout.types import Generation, SamplingParams
from rlvr.rollout.worker import rollout_worker_actor

Sharding = Literal["contiguous", "round_robin"]
log = logging.getLogger(__name__)


class RolloutWorkerFailed(RuntimeError):
    """A rollout worker died more often than cluster.max_restarts allows."""


def shard_indices(num_items: int, num_shards: int, sharding: Sharding) -> list[list[int]]:
    """Indices of the items each shard gets; contiguous shards differ in size by at most one."""
    if sharding == "round_robin":
        return [list(range(k, num_items, num_shards)) for k in range(num_shards)]
    if sharding != "contiguous":
        raise ValueError(f"sharding={sharding!r}; choose 'contiguous' or 'round_robin'")
    base, extra = divmod(num_items, num_shards)
    shards, start = [], 0
    for k in range(num_shards):
        size = base + (k < extra)
        shards.append(list(range(start, start + size)))
        start += size
    return shards


@dataclass
class PendingGeneration:
    """A `RolloutGroup.submit` in flight: per worker, (caller's indices, prompts, params) and future."""

    calls: dict[int, tuple[list[int], list[list[int]], SamplingParams]]
    futures: dict[int, Any]


class RolloutGroup:
    """`num_workers` Ray actors, each a RolloutWorker on its own engine.

    Requires `ray.init(...)` beforehand. Worker k gets engine seed `seed + k` (engine_options'
    "seed", default 0), and a seeded call (`params.seed`) runs with `params.seed + k` on worker k:
    otherwise two workers holding copies of the same prompt would return identical samples.
    """

    def __init__(
        self,
        num_workers: int,
        engine: str,
        model_path: str,
        engine_options: dict[str, Any] | None = None,
        *,
        num_cpus_per_worker: float = 1.0,
        num_gpus_per_worker: float = 0.0,
        sharding: Sharding = "contiguous",
        num_threads_per_worker: int = 0,
        wait: bool = True,
        warm: bool = False,
    ) -> None:
        if num_workers < 1:
            raise ValueError(f"num_workers={num_workers}: need at least one worker")
        options = dict(engine_options or {})
        base_seed = int(options.pop("seed", 0))
        # One bundle per worker (cluster.placement); a dead worker is restarted by Ray with the same
        # arguments (engine seed included) up to cluster.max_restarts times, then reloads the
        # latest weights before its share of the step is retried (`generate`).
        self.placement = ActorPlacement(
            "rollout worker", num_workers, num_cpus_per_worker, num_gpus_per_worker
        )
        self.nodes = self.placement.nodes
        self.max_restarts = policy().max_restarts
        self.restarts = 0
        self._resources = (num_cpus_per_worker, num_gpus_per_worker)
        self._args = [
            (engine, str(model_path), {**options, "seed": base_seed + k}, k, num_threads_per_worker)
            for k in range(num_workers)
        ]
        # cluster.warm: a claimed warm actor imported vLLM before this run (rlvr.cluster.warm)
        self._warm_pool = None
        self.warm: list[bool] = [False] * num_workers
        starting: list[Any] = []
        if warm:
            from rlvr.cluster.warm import WarmPool, rollout_imports

            self._warm_pool = WarmPool("rollout", rollout_imports(engine))
            join = self._warm_pool.join_options(num_threads_per_worker, num_cpus_per_worker)
        self.workers = []
        for k in range(num_workers):
            actor = self._warm_pool.claim(self.nodes[k]) if self._warm_pool else None
            if actor is None:
                actor = self._cold_worker(k)
                starting.append(actor.ready.remote())
            else:
                self.warm[k] = True
                starting.append(actor.configure.remote(self._args[k], **join))
            self.workers.append(actor)
        self.sharding: Sharding = sharding
        self.sync_history: list[dict[str, float]] = []
        self._weights: tuple[StoredWeights, int | None] | None = None  # the last update, its version
        # weight_sync=shared_memory: the slots' layout, the slot in use, its version
        self._shared: tuple[SharedLayout, int, int] | None = None
        self.nccl_weight_sync = False  # set by the trainer's NcclSync: weights arrive over NCCL
        self._starting = starting
        if wait:
            self.wait_ready()

    def _cold_worker(self, k: int) -> Any:
        """A new actor for worker k, in its placement bundle; Ray restarts it on death."""
        num_cpus, num_gpus = self._resources
        return (
            rollout_worker_actor()
            .options(
                num_cpus=num_cpus,
                num_gpus=num_gpus,
                max_restarts=self.max_restarts,
                **self.placement.options(k),
            )
            .remote(*self._args[k])
        )

    def wait_ready(self) -> None:
        """Wait for every worker's engine (`wait=False` returns before that, so that other actors
        can start meanwhile); raises a worker's start-up error here, not at its first call."""
        if self._starting:
            import ray

            starting, self._starting = self._starting, []
            ray.get(starting)

    def __len__(self) -> int:
        return len(self.workers)

    def generate(self, prompt_token_ids: list[list[int]], params: SamplingParams) -> list[Generation]:
        """Generations for all prompts, ordered by (prompt_index, sample_index) as one engine would."""
        return self.collect(self.submit(prompt_token_ids, params))

    def submit(self, prompt_token_ids: list[list[int]], params: SamplingParams) -> PendingGeneration:
        """Start generating and return at once; `collect` waits for the result.

        Each worker runs its calls in the order they arrive, so a weight update submitted after this
        call reaches a worker after it has generated these prompts (with the weights it had).
        """
        shards = shard_indices(len(prompt_token_ids), len(self.workers), self.sharding)
        calls = {}
        for k, idx in enumerate(shards):
            if not idx:
                continue
            worker_params = params if params.seed is None else replace(params, seed=params.seed + k)
            calls[k] = (idx, [prompt_token_ids[i] for i in idx], worker_params)
        futures = {k: self.workers[k].generate.remote(p, wp) for k, (_, p, wp) in calls.items()}
        return PendingGeneration(calls, futures)

    def collect(self, pending: PendingGeneration) -> list[Generation]:
        """The generations of a `submit` call (a worker that died meanwhile retries its share)."""
        import ray

        results: list[Generation] = []
        for k, (idx, shard_prompts, worker_params) in pending.calls.items():
            while True:
                try:
                    out = ray.get(pending.futures[k])
                    break
                except ray.exceptions.RayActorError as e:
                    self._recover(k, e)  # same prompts, same seed: the retry returns what it would have
                    pending.futures[k] = self.workers[k].generate.remote(shard_prompts, worker_params)
            for g in out:
                g.prompt_index = idx[g.prompt_index]  # shard-local -> caller's index
                results.append(g)
        results.sort(key=lambda g: (g.prompt_index, g.sample_index))
        return results

    def score(self, token_ids: list[list[int]]) -> list[list[float]]:
        import ray

        shards = shard_indices(len(token_ids), len(self.workers), self.sharding)
        futures = [
            (idx, w.score.remote([token_ids[i] for i in idx]))
            for w, idx in zip(self.workers, shards, strict=True)
            if idx
        ]
        out: list[list[float]] = [[] for _ in token_ids]
        for idx, future in futures:
            for i, values in zip(idx, ray.get(future), strict=True):
                out[i] = values
        return out

    def update_weights(
        self, weights: NamedTensors | StoredWeights, version: int | None = None
    ) -> dict[str, float]:
        """Send a full set of HF-named weights to every worker; returns the timings.

        `weights` already in the object store (`StoredWeights`, as the learner puts them) are
        passed on as they are; tensors are put once here.

        put_seconds:    copying the tensors into the object store (0 for StoredWeights);
        worker_seconds: the slowest worker's fetch + load;
        total_seconds:  the whole call, as the training loop waits for it.
        """
        start = time.perf_counter()
        stored = weights if isinstance(weights, StoredWeights) else put_weights(weights)
        self._weights = (stored, version)  # kept for a restarted worker, which starts from the model folder
        put_done = time.perf_counter()
        # a worker that dies meanwhile is restarted with self._weights, i.e. this update
        worker_seconds = self._wait_all([w.update_weights.remote(stored, version) for w in self.workers])
        timing = {
            "put_seconds": put_done - start,
            "worker_seconds": max(worker_seconds, default=0.0),
            "total_seconds": time.perf_counter() - start,
        }
        self.sync_history.append(timing)
        return timing

    def _wait_all(self, futures: list[Any]) -> list[Any]:
        """Every worker's result of a weight update (a dead worker is recovered: no result)."""
        import ray

        results = []
        for k, future in enumerate(futures):
            try:
                results.append(ray.get(future))
            except ray.exceptions.RayActorError as e:
                self._recover(k, e)
        return results

    # weight_sync=shared_memory (rlvr.rollout.shared_weights), driven by the trainer's SharedMemorySync
    def shared_weights_layout(self, specs: list[tuple[str, tuple[int, ...]]]) -> SharedLayout:
        """Worker 0's slot layout for HF-named tensors of these shapes (no files yet)."""
        import ray

        return ray.get(self.workers[0].shared_weights_layout.remote(specs))

    def attach_shared_weights(self, layout: SharedLayout, slot: int = 0, version: int = 0) -> None:
        """Worker 0 fills both slots with its weights, then every worker computes from `slot`."""
        import ray

        ray.get(self.workers[0].attach_shared_weights.remote(layout, slot, version, True))
        ray.get([w.attach_shared_weights.remote(layout, slot, version) for w in self.workers[1:]])
        self._shared = (layout, slot, version)

    def shared_weights_mismatches(self, a: int, b: int) -> list[str]:
        import ray

        return ray.get(self.workers[0].shared_weights_mismatches.remote(a, b))

    def use_shared_weights(self, slot: int, version: int | None = None) -> dict[str, float]:
        """Every worker computes from `slot` (which the learner has written) once its calls
        before this one are done; returns the timings as `update_weights` does (no put)."""
        if self._shared is None:
            raise RuntimeError("use_shared_weights before attach_shared_weights")
        start = time.perf_counter()
        layout, _, last = self._shared
        # recorded first: a worker restarted meanwhile attaches to this slot
        self._shared = (layout, slot, last + 1 if version is None else version)
        worker_seconds = self._wait_all([w.use_shared_weights.remote(slot, version) for w in self.workers])
        timing = {
            "put_seconds": 0.0,
            "worker_seconds": max(worker_seconds, default=0.0),
            "total_seconds": time.perf_counter() - start,
        }
        self.sync_history.append(timing)
        return timing

    def _recover(self, k: int, error: Exception) -> None:
        """Wait for Ray to restart worker k and give it the latest weights; past max_restarts, raise."""
        import ray

        if self.nccl_weight_sync:
            raise RolloutWorkerFailed(
                f"rollout worker {k} died ({type(error).__name__}); with "
                "rollout.engine_options.weight_sync=nccl a restarted worker is not in the NCCL group "
                "and would generate with the initial weights: rerun with resume=auto"
            ) from error
        self.restarts += 1
        if self.restarts > self.max_restarts:
            raise RolloutWorkerFailed(
                f"rollout worker {k} died ({type(error).__name__}) after {self.restarts - 1} restarts "
                f"this run (cluster.max_restarts={self.max_restarts}); the last checkpoint is intact: "
                "rerun with resume=auto once the cause (memory, node loss) is fixed"
            ) from error
        log.warning(
            "rollout worker %d died (%s): restart %d of %d, retrying its prompts with the same seed",
            k,
            type(error).__name__,
            self.restarts,
            self.max_restarts,
        )
        if self.warm[k]:  # Ray does not restart a warm actor: a cold one takes its place
            self.warm[k] = False
            self.workers[k] = self._cold_worker(k)
        # Calls to a restarting actor fail at once (ActorUnavailableError): poll until it is back.
        deadline = time.monotonic() + 600
        while True:
            try:
                ray.get(self.workers[k].ready.remote())
                break
            except ray.exceptions.ActorUnavailableError:
                if time.monotonic() > deadline:
                    raise RolloutWorkerFailed(f"rollout worker {k} did not come back in 600 s") from None
                time.sleep(1)
        if self._shared is not None:  # computes from the shared slot the others use
            layout, slot, version = self._shared
            ray.get(self.workers[k].attach_shared_weights.remote(layout, slot, version))
        elif self._weights is not None:
            stored, version = self._weights
            ray.get(self.workers[k].update_weights.remote(stored, version))

    def stats(self) -> list[dict[str, Any]]:
        import ray

        return ray.get([w.stats.remote() for w in self.workers])

    def close(self) -> None:
        import ray

        try:
            for w in self.workers:
                try:
                    ray.get(w.close.remote())
                except ray.exceptions.RayActorError:
                    pass  # dead or restarting: ray.kill below ends it either way
        finally:
            for w in self.workers:
                ray.kill(w)
            self.workers = []
            self.placement.remove()
            if self._warm_pool is not None:  # as many warm actors for the next run as this one used
                self._warm_pool.refill(self.nodes)
                self._warm_pool = None
