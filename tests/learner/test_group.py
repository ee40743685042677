"""Two learner ranks as Ray actors over gloo: data-parallel correctness and weight sync."""

from __future__ import annotations

import learner_helpers
import pytest
import torch
from learner_helpers import MeanResponseNLL, random_batch
from transformers import AutoConfig, LlamaForCausalLM

from rlvr.learner import Learner, LearnerGroup, LearnerOptions, naive_token_logprobs

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_local():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    # Actors unpickle the test's loss function; its module is not importable on their sys.path.
    ray.cloudpickle.register_pickle_by_value(learner_helpers)
    yield
    ray.shutdown()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("zero_stage", [2, 3])
def test_two_ranks_equal_one_rank_with_accumulation_and_sync_reloads(
    ray_local, tiny_model_path, tmp_path, zero_stage
):
    opts = LearnerOptions(zero_stage=zero_stage, lr=1e-3, weight_decay=0.01)
    batch, loss = random_batch(8, seed=11), MeanResponseNLL()
    group = LearnerGroup(2, tiny_model_path, opts)
    try:
        # 2 ranks x 2 micro-batches of 2 rows == 1 rank x 4 micro-batches of 2 rows (same rows).
        g_metrics = [group.train_step({"rollout": batch}, loss, micro_batch_size=2) for _ in range(2)]
        synced = group.state_dict_for_sync()
        # What the trainer sends: rank 0 puts the same weights in the object store itself.
        stored = dict(group.weights_for_sync().pairs())
        assert stored.keys() == synced.keys()
        assert all(torch.equal(stored[k], synced[k]) for k in synced)
        odd = random_batch(7, seed=12)  # not a multiple of world_size: compute_logprobs pads
        group_logps = group.compute_logprobs(odd, 3)
        assert group.global_step == 2
        with pytest.raises(ValueError, match="multiple of world_size"):
            group.train_step({"rollout": odd}, loss, micro_batch_size=2)
        # Per-rank optimizer shards round-trip: step, rewind to the checkpoint, redo the step.
        group.save_checkpoint(tmp_path / "ckpt", {"trainer_step": 2})
        group.train_step({"rollout": odd.select(slice(0, 6))}, loss, micro_batch_size=2)
        third = group.state_dict_for_sync()
        assert group.load_checkpoint(tmp_path / "ckpt") == {"trainer_step": 2} and group.global_step == 2
        group.train_step({"rollout": odd.select(slice(0, 6))}, loss, micro_batch_size=2)
        redone = group.state_dict_for_sync()
        assert all(torch.equal(third[k], redone[k]) for k in third)
    finally:
        group.shutdown()

    single = Learner(tiny_model_path, opts)
    s_metrics = [single.train_step({"rollout": batch}, loss, micro_batch_size=2) for _ in range(2)]
    for g, s in zip(g_metrics, s_metrics, strict=True):
        assert g["micro_batches"] == 2 and s["micro_batches"] == 4
        assert g["loss"] == pytest.approx(s["loss"], abs=1e-6)
        assert g["grad_norm"] == pytest.approx(s["grad_norm"], rel=1e-5)
        assert g["tokens"] == s["tokens"]
    expected = single.state_dict_for_sync()
    assert synced.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(synced[name], expected[name], atol=1e-6, rtol=1e-5, msg=name)
    assert (
        max(
            (synced[k] - v).abs().max()
            for k, v in LlamaForCausalLM.from_pretrained(tiny_model_path).state_dict().items()
        )
        > 1e-4
    )

    # The synced weights load into a fresh HF model and reproduce the learner's log-probs.
    fresh = LlamaForCausalLM(AutoConfig.from_pretrained(tiny_model_path))
    fresh.load_state_dict(synced, strict=True)
    with torch.no_grad():
        ref = naive_token_logprobs(fresh, odd).logprobs
    torch.testing.assert_close(group_logps, ref, atol=1e-5, rtol=0)
