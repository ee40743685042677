"""Who computes on how many cores (components.thread_plan)."""

from __future__ import annotations

import os

import pytest

from rlvr.config.schema import ClusterConfig, LearnerConfig, RolloutConfig
from rlvr.trainer.components import thread_plan


@pytest.fixture
def cores(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))  # an 8-core machine
    return 8


def test_phases_taking_turns_each_get_every_core(cores):
    plan = thread_plan(RolloutConfig(num_workers=2), LearnerConfig(world_size=1), ClusterConfig())
    assert (plan.rollout, plan.learner) == (4, 8)  # 2 workers generate at once; 1 rank learns alone
    assert "take turns" in plan.reason


def test_overlapping_phases_split_the_cores(cores):
    plan = thread_plan(
        RolloutConfig(num_workers=1, max_staleness=1), LearnerConfig(world_size=1), ClusterConfig()
    )
    assert (plan.rollout, plan.learner) == (4, 4)
    plan = thread_plan(
        RolloutConfig(num_workers=2, max_staleness=2), LearnerConfig(world_size=2), ClusterConfig()
    )
    assert (plan.rollout, plan.learner) == (2, 2)


def test_cluster_num_cpus_caps_the_cores_and_the_config_wins(cores):
    plan = thread_plan(RolloutConfig(), LearnerConfig(), ClusterConfig(num_cpus=2))
    assert (plan.rollout, plan.learner) == (2, 2)
    plan = thread_plan(RolloutConfig(num_threads=3), LearnerConfig(), ClusterConfig())
    assert (plan.rollout, plan.learner) == (3, 8)


def test_remote_clusters_and_gpu_actors_keep_rays_setting(cores):
    plan = thread_plan(RolloutConfig(), LearnerConfig(), ClusterConfig(address="auto"))
    assert (plan.rollout, plan.learner) == (0, 0)
    plan = thread_plan(
        RolloutConfig(num_gpus_per_worker=1), LearnerConfig(num_gpus_per_rank=1), ClusterConfig()
    )
    assert (plan.rollout, plan.learner) == (0, 0)
