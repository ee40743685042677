"""Rollout workers that die past cluster.max_restarts: the run writes a checkpoint of its last
complete state and stops with an error naming it; resume continues from there."""

from __future__ import annotations

import pytest

from rlvr.config import compose_config
from rlvr.rollout.group import RolloutWorkerFailed
from rlvr.trainer.checkpoint import latest_checkpoint, load_trainer_state
from rlvr.trainer.trainer import Trainer

pytestmark = pytest.mark.slow


def test_a_dead_worker_past_the_limit_checkpoints_then_stops(overrides, ray_cluster, tmp_path):
    import ray

    cfg = compose_config(overrides("algorithm=grpo", "steps=4", "eval.n=0", "cluster.max_restarts=0"))
    trainer = Trainer(cfg)
    try:
        trainer.step()
        before = trainer.prompt_cycle.state()
        ray.kill(trainer.rollout.workers[0], no_restart=True)
        with pytest.raises(RolloutWorkerFailed, match=r"Checkpoint of step 1: .*step_000001.*resume=auto"):
            trainer._step_or_checkpoint()
        ckpt = latest_checkpoint(trainer.run_dir)
        assert ckpt is not None and ckpt.name == "step_000001"
        # the failed step's prompts were given back: a resumed run draws them again
        assert load_trainer_state(ckpt)["prompt_cycle"] == before
    finally:
        trainer.close()
