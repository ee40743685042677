"""RolloutGroup: two vLLM workers as Ray actors, sharded prompts, one broadcast weight update."""

from __future__ import annotations

import os

import pytest
from rollout_helpers import max_abs_diff, perturbed_state

from rlvr.rollout import RolloutGroup, SamplingParams
from rlvr.rollout.engines import HFEngine

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_session():
    import ray

    # A private local cluster (never Ray's machine-wide stop command: other Ray users share this machine).
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_group_keeps_order_and_broadcast_reaches_every_worker(
    ray_session, tiny_model_dir, hf_engine, prompt_ids
):
    group = RolloutGroup(
        2, "vllm", str(tiny_model_dir), {"seed": 0, "max_model_len": 256}, num_cpus_per_worker=1
    )
    try:
        greedy = SamplingParams(temperature=0, max_tokens=12)
        gens = group.generate(prompt_ids, greedy)  # 5 prompts: worker 0 gets 3, worker 1 gets 2
        expected = hf_engine.generate(prompt_ids, greedy)
        assert [(g.prompt_index, g.prompt_token_ids, g.token_ids) for g in gens] == [
            (g.prompt_index, g.prompt_token_ids, g.token_ids) for g in expected
        ]
        assert [s["prompts"] for s in group.stats()] == [3, 2]

        group.sharding = "round_robin"
        sampled = group.generate(prompt_ids, SamplingParams(n=2, max_tokens=6, seed=1))
        assert [(g.prompt_index, g.sample_index) for g in sampled] == [
            (i, j) for i in range(5) for j in range(2)
        ]
        assert all(g.prompt_token_ids == prompt_ids[g.prompt_index] for g in sampled)
        # the same prompt on two workers must not give the same sample (worker seeds differ)
        twins = group.generate([prompt_ids[0], prompt_ids[0]], SamplingParams(max_tokens=10, seed=1))
        assert twins[0].token_ids != twins[1].token_ids

        new_state = perturbed_state(tiny_model_dir)
        timing = group.update_weights(new_state)
        assert 0 < timing["worker_seconds"] <= timing["total_seconds"]
        new_hf = HFEngine(str(tiny_model_dir))
        new_hf.update_weights(new_state)
        seqs = [g.prompt_token_ids + g.token_ids for g in gens]
        group.sharding = "contiguous"  # sequences 0-2 scored by worker 0, 3-4 by worker 1
        assert max_abs_diff(group.score(seqs), new_hf.score(seqs)) < 1e-4
        assert max_abs_diff(group.score(seqs), hf_engine.score(seqs)) > 1e-2
        after = group.generate(prompt_ids, greedy)
        assert [g.token_ids for g in after] == [g.token_ids for g in new_hf.generate(prompt_ids, greedy)]
        assert {g.weight_version for g in after} == {1}
        stats = group.stats()
        assert [s["weight_version"] for s in stats] == [1, 1]
        assert all(s["last_sync_seconds"] > 0 and s["tokens_per_second"] > 0 for s in stats)
    finally:
        group.close()


def test_plain_cpu_linear_worker_takes_updates_from_the_object_store(ray_session, tiny_model_dir, prompt_ids):
    # cpu_linear=plain copies the update into vLLM's live weights straight from the read-only
    # shared-memory arrays a worker reads out of Ray's object store.
    options = {"seed": 0, "max_model_len": 256, "cpu_linear": "plain"}
    group = RolloutGroup(1, "vllm", str(tiny_model_dir), options, num_cpus_per_worker=1)
    try:
        new_state = perturbed_state(tiny_model_dir, seed=4)
        group.update_weights(new_state)
        new_hf = HFEngine(str(tiny_model_dir))
        new_hf.update_weights(new_state)
        seqs = [p + [7, 8, 9] for p in prompt_ids]
        assert max_abs_diff(group.score(seqs), new_hf.score(seqs)) < 1e-4
        greedy = SamplingParams(temperature=0, max_tokens=12)
        assert [g.token_ids for g in group.generate(prompt_ids, greedy)] == [
            g.token_ids for g in new_hf.generate(prompt_ids, greedy)
        ]
    finally:
        group.close()


def test_shared_memory_sync_reaches_every_worker_and_a_restarted_one(ray_session, tiny_model_dir, prompt_ids):
    # weight_sync=shared_memory as the trainer opens it (SharedMemorySync): a learner rank (here in
    # this process) writes the slot no worker computes from, then both workers switch to it; a
    # worker that Ray restarts attaches to the slot in use.
    import ray
    import torch

    from rlvr.cluster import placement
    from rlvr.learner import LearnerGroup, LearnerOptions
    from rlvr.trainer.weight_sync import SharedMemorySync

    options = {"seed": 0, "max_model_len": 256, "cpu_linear": "plain", "weight_sync": "shared_memory"}
    before = placement.policy().max_restarts  # process-wide: a trainer run earlier may have set 0
    placement.set_policy(placement.policy().strategy, 1)
    try:
        group = RolloutGroup(2, "vllm", str(tiny_model_dir), options, num_cpus_per_worker=1)
    finally:
        placement.set_policy(placement.policy().strategy, before)
    learner = LearnerGroup(1, tiny_model_dir, LearnerOptions(zero_stage=0), use_ray=False)
    sync = SharedMemorySync(group, learner)  # checks the layout: learner's weights == vLLM's, bit for bit
    paths = sync.layout.paths
    try:
        assert all(os.path.exists(p) for p in paths)
        seqs = [p + [7, 8, 9] for p in prompt_ids]  # contiguous sharding: 0-2 on worker 0, 3-4 on worker 1
        greedy = SamplingParams(temperature=0, max_tokens=12)
        hf = HFEngine(str(tiny_model_dir))
        for seed, slot in ((4, 1), (5, 0), (6, 1)):  # each update goes to the other slot
            new = perturbed_state(tiny_model_dir, seed=seed)
            with torch.no_grad():
                for name, p in learner._local.hf_model.named_parameters():
                    p.copy_(new[name])
            sync.send()
            assert sync.slot == slot
            hf.update_weights(new)
            assert max_abs_diff(group.score(seqs), hf.score(seqs)) < 1e-4
        assert [s["weight_version"] for s in group.stats()] == [3, 3]

        ray.kill(group.workers[1], no_restart=False)  # as a lost process would; Ray restarts it
        after = group.generate(prompt_ids, greedy)  # worker 1's share is retried once it is back
        assert group.restarts == 1
        assert [g.token_ids for g in after] == [g.token_ids for g in hf.generate(prompt_ids, greedy)]
        assert max_abs_diff(group.score(seqs), hf.score(seqs)) < 1e-4  # worker 1 scores 3-4
        assert [s["weight_version"] for s in group.stats()] == [3, 3]
        hf.close()
    finally:
        sync.close()
        group.close()
    assert not any(os.path.exists(p) for p in paths)
