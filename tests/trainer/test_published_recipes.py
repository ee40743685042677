"""The algorithm recipes are the published methods: Dr.GRPO's loss, GRPO's epsilon, DPH-RL's
recipe around its divergence, RAPO's entropy term. Each checked on fixed tensors against the
formula the paper or the reference implementation (TRL 1.16, the DPH-RL authors' verl fork) uses."""

import pytest
import torch

from rlvr.algorithms import build_algorithm
from rlvr.batch import pack_sequences
from rlvr.config import compose_config
from rlvr.learner.logprobs import LogProbOutput
from rlvr.objectives import compute_advantages


def _cfg(*overrides):
    return compose_config(list(overrides))


def _rollout(seed=0, rows=4, max_len=6):
    g = torch.Generator().manual_seed(seed)
    lengths = [int(x) for x in torch.randint(1, max_len + 1, (rows,), generator=g)]
    batch = pack_sequences([[1, 2]] * rows, [[3] * n for n in lengths], pad_id=0)
    batch.tensors["logp_old"] = -torch.rand(batch.input_ids.shape, generator=g) * batch.loss_mask
    batch.tensors["advantages"] = torch.randn(rows, generator=g)
    logp = (
        batch.tensors["logp_old"] + 0.1 * torch.randn(batch.input_ids.shape, generator=g)
    ) * batch.loss_mask
    return batch, logp.requires_grad_()


def test_dr_grpo_is_trls_dr_grpo_loss():
    cfg = _cfg("algorithm=dr_grpo", "rollout.sampling.max_tokens=48")
    assert (cfg.algorithm.advantage, cfg.algorithm.aggregation) == ("dr_grpo", "seq-mean-token-sum-norm")
    assert cfg.algorithm.aggregation_norm == 48  # the max response length, from the run's sampling
    objective = build_algorithm(cfg.algorithm, cfg.divergence).objective()
    batch, logp = _rollout()
    loss, _ = objective({"rollout": LogProbOutput(logprobs=logp)}, {"rollout": batch})
    # TRL GRPOTrainer, loss_type="dr_grpo": (per_token_loss * mask).sum() / (B * max_completion_length),
    # per_token_loss = -min(r A, clip(r, 1 - eps, 1 + eps) A)
    mask = batch.loss_mask
    ratio = torch.exp(logp - batch.tensors["logp_old"])
    adv = batch.tensors["advantages"][:, None]
    per_token = -torch.min(ratio * adv, ratio.clamp(0.8, 1.2) * adv)
    trl = (per_token * mask).sum() / (mask.shape[0] * 48)
    torch.testing.assert_close(loss, trl, rtol=1e-6, atol=1e-7)


def test_grpo_std_epsilon_is_settable_and_reaches_the_advantages():
    cfg = _cfg("algorithm=grpo", "algorithm.advantage_eps=1e-4")
    assert cfg.algorithm.advantage_eps == 1e-4 and _cfg("algorithm=grpo").algorithm.advantage_eps == 1e-6
    rewards = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 1.0])
    groups = torch.tensor([0, 0, 0, 1, 1, 1])
    # TRL: (R - mean) / (std + 1e-4), unbiased std per group
    r = rewards.view(2, 3)
    trl = ((r - r.mean(1, keepdim=True)) / (r.std(1, keepdim=True) + 1e-4)).flatten()
    torch.testing.assert_close(compute_advantages("grpo", rewards, groups, eps=1e-4), trl)
    assert not torch.allclose(compute_advantages("grpo", rewards, groups), trl, rtol=0, atol=1e-6)


def test_trainer_passes_the_epsilon_to_the_rollout_batch():
    from rlvr.rollout.types import Generation
    from rlvr.trainer.rollout_batch import build_rollout_batch
    from verifiers.result import Reason, VerifyResult

    gens = [
        Generation(
            prompt_index=0,
            sample_index=i,
            prompt_token_ids=[1],
            token_ids=[3, 4],
            logprobs=[-0.1, -0.2],
            text="x",
            finish_reason="stop",
        )
        for i in range(2)
    ]
    results = [
        VerifyResult(score=s, correct=bool(s), reason=Reason.OK if s else Reason.WRONG) for s in (1.0, 0.0)
    ]
    tight, _ = build_rollout_batch(gens, results, advantage="grpo", pad_id=0, advantage_eps=1e-6)
    loose, _ = build_rollout_batch(gens, results, advantage="grpo", pad_id=0, advantage_eps=1.0)
    std = float(torch.tensor([1.0, 0.0]).std())
    assert float(tight.tensors["advantages"][0]) == pytest.approx(0.5 / (std + 1e-6), rel=1e-5)
    assert float(loose.tensors["advantages"][0]) == pytest.approx(0.5 / (std + 1.0), rel=1e-5)


def test_dph_recipe_is_the_authors_recipe():
    cfg = _cfg()  # the embedded default is DPH-RL + JS
    a = cfg.algorithm
    assert (a.name, a.eps_low, a.eps_high, a.dual_clip) == ("dph", 0.2, 0.28, 3.0)
    assert (a.bank_weighting, a.bank_ratio, cfg.bank.rehearse) == ("paper", 0.125, "correct")
    assert build_algorithm(a, cfg.divergence).objective().separate_sources
    # their GRPO baseline keeps the symmetric clip
    g = _cfg("algorithm=grpo").algorithm
    assert (g.eps_low, g.eps_high, g.bank_weighting) == (0.2, 0.2, "joint")
    # forward KL carries their value clamp
    assert dict(_cfg("divergence=forward_kl").divergence.params) == {"value_clamp": 10.0}


def test_rapo_objective_has_its_entropy_bonus():
    cfg = _cfg("algorithm=rapo")
    objective = build_algorithm(cfg.algorithm, cfg.divergence).objective()
    assert objective.entropy_coef == cfg.algorithm.entropy_coef > 0
    batch, logp = _rollout(seed=3)
    batch.tensors["logp_ref"] = batch.tensors["logp_old"].clone()
    batch.tensors["rewards"] = torch.tensor([1.0, 0.0, 1.0, 0.0])
    entropy = torch.rand(batch.input_ids.shape) * batch.loss_mask
    with_h, m = objective({"rollout": LogProbOutput(logprobs=logp, entropy=entropy)}, {"rollout": batch})
    without_h, _ = objective({"rollout": LogProbOutput(logprobs=logp)}, {"rollout": batch})
    token_mean_h = (entropy * batch.loss_mask).sum() / batch.loss_mask.sum()
    torch.testing.assert_close(
        without_h - with_h, objective.entropy_coef * token_mean_h, rtol=1e-4, atol=1e-7
    )
    assert m["policy/entropy"] == pytest.approx(float(token_mean_h), rel=1e-5)


def test_bad_weighting_names_fail_at_start():
    with pytest.raises(ValueError, match="bank_weighting must be 'joint' or 'paper'"):
        cfg = _cfg("algorithm.bank_weighting=both")
        build_algorithm(cfg.algorithm, cfg.divergence)
    with pytest.raises(ValueError, match="bank_ratio must be > 0"):
        cfg = _cfg("algorithm.bank_ratio=0")
        build_algorithm(cfg.algorithm, cfg.divergence)
