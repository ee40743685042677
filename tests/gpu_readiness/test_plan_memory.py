"""`rlvr plan`'s arithmetic: parameter counts, ZeRO sharding, checkpointing, and its warnings."""

from __future__ import annotations

import pytest
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

from rlvr.config import compose_config
from rlvr.plan.config_plan import plan_config
from rlvr.plan.memory import GiB, learner_memory, rollout_memory
from rlvr.plan.shapes import KNOWN_CONFIGS, ModelShape

SMALL = dict(vocab_size=96, hidden_size=32, intermediate_size=80, num_hidden_layers=3, num_attention_heads=4)


@pytest.mark.parametrize(
    "model",
    [
        lambda: LlamaForCausalLM(LlamaConfig(**SMALL, num_key_value_heads=2)),
        lambda: LlamaForCausalLM(LlamaConfig(**SMALL, num_key_value_heads=4, tie_word_embeddings=True)),
        lambda: Qwen2ForCausalLM(Qwen2Config(**SMALL, num_key_value_heads=2, tie_word_embeddings=False)),
    ],
    ids=["llama-gqa", "llama-tied", "qwen2-bias"],
)
def test_parameter_count_equals_the_instantiated_model(model):
    m = model()
    assert ModelShape.from_hf_config(m.config).params() == sum(p.numel() for p in m.parameters())


def test_recipe_models_have_their_published_sizes():
    assert ModelShape.from_hf_config(KNOWN_CONFIGS["Qwen/Qwen2.5-Math-7B"]).params() == pytest.approx(
        7.62e9, rel=3e-3
    )
    assert ModelShape.from_hf_config(
        KNOWN_CONFIGS["meta-llama/Llama-3.1-8B-Instruct"]
    ).params() == pytest.approx(8.03e9, rel=3e-3)


SHAPE = ModelShape.from_hf_config(KNOWN_CONFIGS["Qwen/Qwen2.5-Math-7B"])
P = SHAPE.params()


def _learner(**kw):
    args = dict(
        world_size=4,
        zero_stage=2,
        dtype="bfloat16",
        micro_batch_rows=4,
        seq_len=4096,
        gradient_checkpointing=False,
        logprob_chunk_size=512,
    )
    return learner_memory(SHAPE, **{**args, **kw})


def test_zero_stages_shard_what_deepspeed_shards():
    z0, z1, z2, z3 = (_learner(zero_stage=s) for s in (0, 1, 2, 3))
    assert z0.weights == z1.weights == z2.weights == 2 * P
    assert z3.weights == int(2 * P / 4 + 2 * 2 * SHAPE.layer_params())
    assert z0.optimizer == 8 * P and z1.optimizer == z2.optimizer == z3.optimizer == 8 * P // 4
    # bf16: model-dtype gradients (sharded from stage 2) + fp32 accumulators (sharded from stage 1).
    assert z0.gradients == 2 * P + 4 * P and z1.gradients == 2 * P + P
    assert z2.gradients == z3.gradients == int(2 * P / 4 + P)
    assert z0.master_weights == z3.master_weights == P  # 4 bytes x P / 4 ranks
    fp32 = _learner(dtype="float32", zero_stage=0, world_size=1)
    assert (fp32.weights, fp32.gradients, fp32.master_weights, fp32.optimizer) == (4 * P, 4 * P, 0, 8 * P)


def test_activations_scale_with_tokens_and_checkpointing_keeps_layer_inputs():
    full, half = _learner(), _learner(micro_batch_rows=2)
    assert full.activations == pytest.approx(2 * half.activations, rel=1e-6)
    ckpt = _learner(gradient_checkpointing=True)
    tokens = 4 * 4096
    assert ckpt.activations < full.activations / 8
    assert ckpt.activations > SHAPE.layers * 2 * SHAPE.hidden * tokens  # every layer's bf16 input stays
    assert full.logits == 3 * 512 * SHAPE.vocab * 4


def test_rollout_kv_cache_is_what_the_budget_leaves():
    r = rollout_memory(
        SHAPE, dtype="bfloat16", max_model_len=4096, device_bytes=80 * GiB, gpu_memory_utilization=0.6
    )
    assert r.weights == 2 * P
    assert r.kv_bytes_per_token == 2 * 28 * 4 * 128 * 2  # K and V, 28 layers, 4 KV heads of 128, bf16
    assert r.kv_cache == int(0.6 * 80 * GiB) - 2 * P - GiB
    tp2 = rollout_memory(
        SHAPE, dtype="bfloat16", max_model_len=4096, tensor_parallel_size=2, device_bytes=80 * GiB
    )
    assert tp2.weights == P and tp2.kv_bytes_per_token == r.kv_bytes_per_token // 2


def test_the_7b_recipe_fits_80gb_only_with_gradient_checkpointing():
    cfg = compose_config(["+experiment=gpu_qwen_math_dph_js", "data.train=x.jsonl"])
    assert cfg.learner.gradient_checkpointing  # the recipe sets it
    plan = plan_config(cfg, SHAPE, 80)
    assert plan.warnings == [], plan.warnings
    assert plan.learner.total < 72 * GiB  # ~10% headroom for CUDA context and fragmentation
    off = compose_config(
        ["+experiment=gpu_qwen_math_dph_js", "data.train=x.jsonl", "learner.gradient_checkpointing=false"]
    )
    warnings = plan_config(off, SHAPE, 80).warnings
    assert len(warnings) == 1 and "learner.gradient_checkpointing=true" in warnings[0]


def test_plan_warns_about_disk_sync_fractional_ranks_and_short_max_model_len():
    cfg = compose_config(
        [
            "+experiment=gpu_qwen_math_dph_js",
            "data.train=x.jsonl",
            "rollout.engine_options.weight_sync=disk",
            "learner.num_gpus_per_rank=0.5",
            "rollout.engine_options.max_model_len=2048",
        ]
    )
    text = "\n".join(plan_config(cfg, SHAPE, 80).warnings)
    assert "weight_sync=disk" in text and "num_gpus_per_rank=0.5" in text and "max_model_len=2048" in text


def test_cpu_config_has_no_device_limit():
    cfg = compose_config(["model=tiny-random"])
    plan = plan_config(cfg, ModelShape.from_hf_config(LlamaConfig(**SMALL)), 80)
    assert plan.device_bytes is None and plan.rollout.budget is None and plan.warnings == []
    assert plan.learner.weights == 4 * ModelShape.from_hf_config(LlamaConfig(**SMALL)).params()


def test_rlvr_plan_prints_the_budget_and_exits_1_when_it_does_not_fit(capsys):
    from rlvr.cli import main

    assert main(["plan", "+experiment=gpu_qwen_math_dph_js"]) == 0  # data.train left to the user
    out = capsys.readouterr().out
    assert "7.616 B parameters; one 80 GiB GPU" in out and "gradient checkpointing on" in out
    assert "WARNING" not in out
    assert main(["plan", "--device-gib", "40", "+experiment=gpu_qwen_math_dph_js"]) == 1
    assert "WARNING: learner rank needs ~58.1 GiB, more than its 40.0 GiB" in capsys.readouterr().out
