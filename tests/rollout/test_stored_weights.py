"""Weights through Ray's object store as the sync sends them: exact values, dtypes, tied weights
stored once, read without a copy."""

from __future__ import annotations

import pytest
import torch

from rlvr.rollout.stored_weights import StoredWeights, put_weights, weight_pairs

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_local():
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_round_trip_is_exact_in_every_dtype_and_ties_are_stored_once(ray_local):
    gen = torch.Generator().manual_seed(0)
    embed = torch.randn(64, 16, generator=gen)
    flat = torch.randn(1000, generator=gen)  # parameters as views into one buffer (ZeRO's flat groups)
    state = {
        "model.embed_tokens.weight": embed,
        "lm_head.weight": embed,  # tied: the same tensor under two names
        "model.layers.0.mlp.up_proj.weight": flat[:480].view(30, 16),
        "model.layers.0.mlp.down_proj.weight": flat[480:960].view(16, 30),
        "model.norm.weight": torch.randn(16, generator=gen).to(torch.bfloat16),
        "model.layers.0.self_attn.q_proj.weight": torch.randn(16, 16, generator=gen).t(),  # not contiguous
        "model.rotary.inv_freq": torch.arange(8, dtype=torch.float64),
    }
    stored = put_weights(state)
    assert stored.nbytes == sum(
        t.numel() * t.element_size() for k, t in state.items() if k != "lm_head.weight"
    )
    got = dict(stored.pairs())
    assert list(got) == list(state)
    for name, t in state.items():
        assert got[name].dtype == t.dtype and torch.equal(got[name], t), name
    # pickle keeps one copy of the tied array: both names read the same memory
    assert got["lm_head.weight"].data_ptr() == got["model.embed_tokens.weight"].data_ptr()
    # The put copied: changing the source (the learner's next step) leaves the stored weights alone.
    embed.add_(1.0)
    assert not torch.equal(dict(stored.pairs())["lm_head.weight"], embed)


def test_workers_read_the_shared_memory_without_copying_it(ray_local):
    big = {"w": torch.arange(1 << 20, dtype=torch.float32)}
    stored = put_weights(big)

    @ray.remote(num_cpus=0)
    def read(handle: StoredWeights) -> tuple[bool, bool, float]:
        ((name, t),) = handle.pairs()
        # zero-copy: Ray hands out read-only arrays over the object store's memory, and the
        # tensor is a view of one of them
        array = ray.get(handle.ref)["w"]
        return not array.flags.writeable, t.data_ptr() == array.ctypes.data, float(t.sum())

    readonly, shared, total = ray.get(read.remote(stored))
    assert readonly and shared and total == float(big["w"].sum())
    # weight_pairs takes either form, as a rollout worker receives it
    assert [n for n, _ in weight_pairs(stored)] == [n for n, _ in weight_pairs(big)] == ["w"]
