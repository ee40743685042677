"""Rollout side of the training engine: engines (vLLM, transformers), workers, worker groups.

from rlvr.rollout import RolloutWorker, SamplingParams
worker = RolloutWorker("vllm", model_dir, {"seed": 0})
gens = worker.generate([[1, 4, 204]], SamplingParams(n=4, max_tokens=64))
"""

from rlvr.rollout.engines import ENGINES, RolloutEngine, make_engine
from rlvr.rollout.group import RolloutGroup, shard_indices
from rlvr.rollout.types import Generation, SamplingParams, generations_to_batch
from rlvr.rollout.worker import RolloutStats, RolloutWorker, rollout_worker_actor

__all__ = [
    "ENGINES",
    "Generation",
    "RolloutEngine",
    "RolloutGroup",
    "RolloutStats",
    "RolloutWorker",
    "SamplingParams",
    "generations_to_batch",
    "make_engine",
    "rollout_worker_actor",
    "shard_indices",
]
