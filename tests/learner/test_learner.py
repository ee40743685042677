"""A single-rank Learner (plain class, in-process gloo group of one) on a tiny random Llama."""

from __future__ import annotations

import math

import pytest
import torch
from learner_helpers import MeanResponseNLL, random_batch
from transformers import AutoModelForCausalLM

from rlvr.learner import Learner, LearnerGroup, LearnerOptions, naive_token_logprobs
from rlvr.learner.microbatch import plan_micro_batches
from rlvr.learner.options import deepspeed_config
from rlvr.learner.schedule import WarmupSchedule


def _weights(learner: Learner) -> dict[str, torch.Tensor]:
    return learner.state_dict_for_sync()


def _max_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


# ---------------------------------------------------------------- pure pieces (no engine)


def test_options_reject_bad_values_with_the_key_name():
    with pytest.raises(ValueError, match="zero_stage"):
        LearnerOptions(zero_stage=4)
    with pytest.raises(ValueError, match="total_steps"):
        LearnerOptions(lr_schedule="cosine")
    with pytest.raises(KeyError, match="lrr"):
        LearnerOptions.from_mapping({"lrr": 1.0})
    opts = LearnerOptions.from_mapping({"lr": 3e-4, "betas": [0.9, 0.95], "world_size": 2, "ppo_epochs": 1})
    assert opts.betas == (0.9, 0.95) and opts.lr == 3e-4
    cfg = deepspeed_config(
        LearnerOptions(
            zero_stage=3, dtype="bfloat16", deepspeed_overrides={"zero_optimization": {"overlap_comm": True}}
        ),
        2,
    )
    assert cfg["zero_optimization"] == {
        "stage": 3,
        "stage3_gather_16bit_weights_on_model_save": False,
        "overlap_comm": True,
    }
    assert cfg["bf16"]["enabled"] and cfg["managed_gradient_accumulation"] is False


def test_warmup_then_constant_or_cosine():
    s = WarmupSchedule(warmup_steps=4)
    assert [s(i) for i in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    c = WarmupSchedule(warmup_steps=2, kind="cosine", total_steps=12, min_ratio=0.1)
    assert c(0) == 0.5 and c(2) == 1.0
    assert math.isclose(c(7), 0.1 + 0.9 * 0.5, rel_tol=1e-9)  # halfway through the decay
    assert math.isclose(c(12), 0.1) and math.isclose(c(100), 0.1)


def test_every_source_gets_the_same_number_of_micro_batches():
    plans = plan_micro_batches(
        {"rollout": random_batch(10), "bank": random_batch(4, seed=1)}, micro_batch_size=3
    )
    assert len(plans) == 4
    assert [len(p["rollout"]) for p in plans] == [3, 3, 2, 2]
    assert [len(p["bank"]) for p in plans] == [1, 1, 1, 1]
    assert all(p["rollout"].attention_mask[:, -1].any() for p in plans)  # trimmed
    with pytest.raises(ValueError, match="'bank' has 2 rows but the step has 4 micro-batches"):
        plan_micro_batches({"rollout": random_batch(10), "bank": random_batch(2)}, micro_batch_size=3)


# ---------------------------------------------------------------- DeepSpeed engine, one rank


@pytest.mark.parametrize("zero_stage", [0, 1, 2, 3])
def test_step_changes_weights_and_lowers_the_loss(tiny_model_path, zero_stage):
    learner = Learner(tiny_model_path, LearnerOptions(zero_stage=zero_stage, lr=1e-2))
    batch = random_batch(8)
    before = _weights(learner)
    losses = []
    for _ in range(4):
        m = learner.train_step({"rollout": batch}, MeanResponseNLL(), micro_batch_size=3)
        losses.append(m["loss"])
        if len(losses) == 1:
            first_loss, first_norm = m["loss"], m["grad_norm"]
    assert _max_diff(before, _weights(learner)) > 1e-3
    assert losses[-1] < losses[0] - 0.3, losses
    assert m["micro_batches"] == 3 and m["step"] == 4 and m["lr"] == pytest.approx(1e-2)
    assert m["tokens"] == batch.attention_mask.sum().item() and m["tokens_per_s"] > 0
    assert 0 < m["grad_norm"] < 100 and m["nll"] == pytest.approx(m["loss"])
    # The first step's loss and gradient norm are those of the mean over micro-batches of the
    # loaded model's loss, computed independently (this pins the accumulation scale).
    assert (first_loss, first_norm) == pytest.approx(_reference_step(tiny_model_path, batch, 3), abs=1e-5)


def _reference_step(model_path, batch, micro_batch_size) -> tuple[float, float]:
    hf = AutoModelForCausalLM.from_pretrained(model_path)
    plans = plan_micro_batches({"rollout": batch}, micro_batch_size)
    loss = torch.stack(
        [MeanResponseNLL()({"rollout": naive_token_logprobs(hf, mb["rollout"])}, mb)[0] for mb in plans]
    ).mean()
    loss.backward()
    norm = torch.nn.utils.get_total_norm([p.grad for p in hf.parameters()])
    return loss.item(), norm.item()


class TwoSourceLoss:
    """Rollout NLL + 0.5 * bank NLL - 0.01 * rollout entropy: checks sources stay aligned."""

    needs_entropy = True

    def __call__(self, outputs, batches):
        assert outputs["rollout"].logprobs.shape == batches["rollout"].input_ids.shape
        assert outputs["bank"].logprobs.shape == batches["bank"].input_ids.shape
        terms = {}
        for name in ("rollout", "bank"):
            mask = batches[name].loss_mask
            terms[name] = -(outputs[name].logprobs * mask).sum() / mask.sum()
        ent = (outputs["rollout"].entropy * batches["rollout"].loss_mask).sum() / batches[
            "rollout"
        ].loss_mask.sum()
        loss = terms["rollout"] + 0.5 * terms["bank"] - 0.01 * ent
        return loss, {"bank_nll": terms["bank"], "entropy": ent}


def test_two_sources_of_different_widths_in_one_step(tiny_model_path):
    learner = Learner(
        tiny_model_path, LearnerOptions(zero_stage=2, lr=1e-3, temperature=0.9, gradient_checkpointing=True)
    )
    rollout, bank = random_batch(6, seed=3, max_response=12), random_batch(3, seed=4, max_response=4)
    assert rollout.input_ids.shape[1] != bank.input_ids.shape[1]
    m = learner.train_step({"rollout": rollout, "bank": bank}, TwoSourceLoss(), micro_batch_size=2)
    hf = AutoModelForCausalLM.from_pretrained(tiny_model_path)
    expected = []
    with torch.no_grad():
        for mb in plan_micro_batches({"rollout": rollout, "bank": bank}, 2):
            outs = {n: naive_token_logprobs(hf, b, temperature=0.9, with_entropy=True) for n, b in mb.items()}
            expected.append(TwoSourceLoss()(outs, mb))
    assert m["micro_batches"] == 3
    assert m["loss"] == pytest.approx(sum(float(e[0]) for e in expected) / 3, abs=1e-5)
    assert m["entropy"] == pytest.approx(sum(float(e[1]["entropy"]) for e in expected) / 3, abs=1e-5)


def test_bf16_trains_and_syncs_bf16(tiny_model_path):
    learner = Learner(tiny_model_path, LearnerOptions(zero_stage=2, dtype="bfloat16", lr=1e-2))
    batch = random_batch(4)
    losses = [
        learner.train_step({"rollout": batch}, MeanResponseNLL(), micro_batch_size=2)["loss"]
        for _ in range(4)
    ]
    assert losses[-1] < losses[0] - 0.3
    assert all(t.dtype == torch.bfloat16 for t in learner.state_dict_for_sync().values())


def test_checkpoint_resume_gives_the_uninterrupted_next_step(tiny_model_path, tmp_path):
    opts = LearnerOptions(zero_stage=2, lr=1e-2, warmup_steps=3, weight_decay=0.1)
    batch, loss = random_batch(6), MeanResponseNLL()
    a = Learner(tiny_model_path, opts)
    a.train_step({"rollout": batch}, loss, micro_batch_size=3)
    tag = a.save_checkpoint(tmp_path / "ckpt", {"trainer_step": 1, "note": "x"})
    assert tag == "step1"
    m_a = a.train_step({"rollout": batch}, loss, micro_batch_size=3)
    expected = _weights(a)

    b = Learner(tiny_model_path, opts)
    assert _max_diff(_weights(b), expected) > 1e-3  # fresh weights differ before loading
    assert b.load_checkpoint(tmp_path / "ckpt") == {"trainer_step": 1, "note": "x"}
    assert b.global_step == 1
    m_b = b.train_step({"rollout": batch}, loss, micro_batch_size=3)
    assert m_b["lr"] == m_a["lr"] == pytest.approx(1e-2 * 2 / 3)  # the schedule resumed too
    assert m_b["loss"] == m_a["loss"]
    assert _max_diff(_weights(b), expected) == 0.0


def test_export_hf_loads_with_auto_model(tiny_tied_model_path, tmp_path):
    learner = Learner(tiny_tied_model_path, LearnerOptions(zero_stage=3, lr=1e-2))
    batch = random_batch(5, seed=7)
    learner.train_step({"rollout": batch}, MeanResponseNLL(), micro_batch_size=5)
    out = learner.export_hf(tmp_path / "hf")
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.config.tie_word_embeddings
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    with torch.no_grad():
        ref = naive_token_logprobs(model, batch).logprobs
    torch.testing.assert_close(learner.compute_logprobs(batch, 2), ref, atol=1e-5, rtol=0)
    fresh = naive_token_logprobs(AutoModelForCausalLM.from_pretrained(tiny_tied_model_path), batch).logprobs
    assert (fresh - ref).abs().max() > 1e-3  # the export holds the trained weights


def test_group_without_ray_is_the_plain_learner(tiny_model_path):
    group = LearnerGroup(1, tiny_model_path, LearnerOptions(lr=1e-2), use_ray=False)
    m = group.train_step({"rollout": random_batch(4)}, MeanResponseNLL(), micro_batch_size=2)
    assert m["step"] == 1 and group.global_step == 1
    assert group.compute_logprobs(random_batch(3), 2).shape == random_batch(3).input_ids.shape


def test_the_learner_config_group_maps_onto_options():
    schema = pytest.importorskip("rlvr.config.schema")
    from dataclasses import asdict

    opts = LearnerOptions.from_mapping(asdict(schema.LearnerConfig()), temperature=0.7)
    assert opts.temperature == 0.7 and opts.zero_stage == schema.LearnerConfig().zero_stage
