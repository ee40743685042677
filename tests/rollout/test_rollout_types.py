"""Sampling parameters, generations -> TokenBatch, sharding."""

from __future__ import annotations

import pytest
import torch

from rlvr.rollout import Generation, SamplingParams, generations_to_batch, shard_indices


def test_sampling_params_validate():
    assert SamplingParams(temperature=0).greedy
    assert SamplingParams(stop_token_ids=[3, 4]).stop_token_ids == (3, 4)
    for bad in (dict(n=0), dict(temperature=-1), dict(top_p=0), dict(top_k=0), dict(max_tokens=0)):
        with pytest.raises(ValueError):
            SamplingParams(**bad)


def test_generation_needs_one_logprob_per_token():
    with pytest.raises(ValueError, match="log-probs"):
        Generation(0, 0, [1], [5, 6], "x", [-1.0], "stop")


def test_generations_to_batch_aligns_logprobs_with_response_tokens():
    gens = [
        Generation(0, 0, [1, 7], [5, 6, 2], "a", [-0.1, -0.2, -0.3], "stop"),
        Generation(1, 0, [1], [9], "b", [-0.5], "length"),
    ]
    batch = generations_to_batch(gens, pad_id=0)
    assert batch.input_ids.tolist() == [[1, 7, 5, 6, 2], [1, 9, 0, 0, 0]]
    assert batch.loss_mask.tolist() == [[0, 0, 1, 1, 1], [0, 1, 0, 0, 0]]
    expected = torch.tensor([[0, 0, -0.1, -0.2, -0.3], [0, -0.5, 0, 0, 0]])
    assert torch.allclose(batch.tensors["logp_old"], expected)


@pytest.mark.parametrize("sharding", ["contiguous", "round_robin"])
@pytest.mark.parametrize("num_items,num_shards", [(7, 2), (2, 3), (0, 2), (6, 3)])
def test_shards_partition_the_items(sharding, num_items, num_shards):
    shards = shard_indices(num_items, num_shards, sharding)
    assert len(shards) == num_shards
    assert sorted(i for s in shards for i in s) == list(range(num_items))
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    if sharding == "contiguous":
        assert [i for s in shards for i in s] == list(range(num_items))
