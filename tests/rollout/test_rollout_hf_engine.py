"""The transformers engine (the reference the vLLM engine is compared with) and RolloutWorker."""

from __future__ import annotations

import pytest
import torch
from rollout_helpers import max_abs_diff, perturbed_state

from rlvr.rollout import ENGINES, RolloutEngine, RolloutWorker, SamplingParams
from rlvr.rollout.engines import HFEngine


def test_registry_names_both_engines():
    assert ENGINES.names() == ["hf", "vllm"]
    with pytest.raises(KeyError, match="registered: hf, vllm"):
        ENGINES.get("sglang")


def test_greedy_is_the_argmax_and_logprobs_are_the_models(hf_engine, prompt_ids):
    assert isinstance(hf_engine, RolloutEngine)
    gens = hf_engine.generate(prompt_ids, SamplingParams(temperature=0, max_tokens=12))
    assert [g.prompt_index for g in gens] == list(range(len(prompt_ids)))
    model = hf_engine.model
    for g in gens:
        ids = torch.tensor([g.prompt_token_ids + g.token_ids])
        with torch.no_grad():
            logp = torch.log_softmax(model(ids).logits[0].float(), -1)
        n = len(g.prompt_token_ids)
        steps = logp[n - 1 : -1]
        assert steps.argmax(-1).tolist() == g.token_ids
        expected = steps.gather(-1, torch.tensor(g.token_ids)[:, None])[:, 0].tolist()
        assert max(abs(a - b) for a, b in zip(expected, g.logprobs, strict=True)) < 1e-4
        assert g.finish_reason in ("stop", "length")


def test_score_matches_generation_logprobs(hf_engine, prompt_ids):
    gens = hf_engine.generate(prompt_ids, SamplingParams(max_tokens=10, seed=0))
    scores = hf_engine.score([g.prompt_token_ids + g.token_ids for g in gens])
    tail = [s[len(g.prompt_token_ids) - 1 :] for g, s in zip(gens, scores, strict=True)]
    assert max_abs_diff(tail, [g.logprobs for g in gens]) < 1e-4


def test_stop_token_ends_the_response_and_is_kept(hf_engine, prompt_ids):
    free = hf_engine.generate(prompt_ids[:1], SamplingParams(temperature=0, max_tokens=12))[0]
    stop = free.token_ids[3]
    gen = hf_engine.generate(
        prompt_ids[:1], SamplingParams(temperature=0, max_tokens=12, stop_token_ids=(stop,))
    )[0]
    cut = free.token_ids.index(stop) + 1
    assert gen.token_ids == free.token_ids[:cut] and gen.finish_reason == "stop"


def test_seeded_sampling_is_reproducible(hf_engine, prompt_ids):
    params = SamplingParams(n=3, max_tokens=8, seed=7)
    a = hf_engine.generate(prompt_ids, params)
    b = hf_engine.generate(prompt_ids, params)
    assert [g.token_ids for g in a] == [g.token_ids for g in b]
    assert [(g.prompt_index, g.sample_index) for g in a] == [
        (i, j) for i in range(len(prompt_ids)) for j in range(3)
    ]
    c = hf_engine.generate(prompt_ids, SamplingParams(n=3, max_tokens=8, seed=8))
    assert [g.token_ids for g in a] != [g.token_ids for g in c]


def test_engine_seed_fixes_the_unseeded_stream(tiny_model_dir, prompt_ids):
    params = SamplingParams(n=2, max_tokens=8)
    runs = [HFEngine(str(tiny_model_dir), seed=s).generate(prompt_ids, params) for s in (4, 4, 5)]
    tokens = [[g.token_ids for g in run] for run in runs]
    assert tokens[0] == tokens[1] != tokens[2]


def test_worker_updates_weights_and_counts(tiny_model_dir, prompt_ids):
    worker = RolloutWorker("hf", str(tiny_model_dir), {"seed": 0})
    gens = worker.generate(prompt_ids, SamplingParams(n=2, max_tokens=6))
    seqs = [g.prompt_token_ids + g.token_ids for g in gens]
    before = worker.score(seqs)
    seconds = worker.update_weights(perturbed_state(tiny_model_dir))
    after = worker.score(seqs)
    assert max_abs_diff(before, after) > 1e-2
    stats = worker.stats()
    assert stats["generated_tokens"] == sum(len(g.token_ids) for g in gens) > 0
    assert stats["weight_version"] == 1 and stats["last_sync_seconds"] == seconds > 0
    assert stats["tokens_per_second"] > 0 and gens[0].weight_version == 0
    with pytest.raises(KeyError, match="not a weight"):
        worker.update_weights({"model.nope.weight": torch.zeros(1)})
    worker.close()
