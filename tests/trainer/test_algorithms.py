"""Algorithms decide prompt splits and divergence samples; the objective adds up the right terms."""

import pytest
import torch

from rlvr.algorithms import build_algorithm
from rlvr.batch import pack_sequences
from rlvr.config import compose_config
from rlvr.learner.logprobs import LogProbOutput
from rlvr.objectives import divergence_loss, get_divergence, ppo_clip


def _alg(*overrides):
    cfg = compose_config(list(overrides))
    return build_algorithm(cfg.algorithm, cfg.divergence)


def test_dph_reads_the_bank_and_never_needs_a_reference_worker():
    for div in ("js", "forward_kl", "alpha", "tv"):
        a = _alg("algorithm=dph", f"divergence={div}")
        assert a.needs_bank and not a.needs_reference_worker
        assert a.objective().sources() == ["rollout", "bank"]


def test_reverse_kl_and_rapo_need_online_reference_logprobs():
    for overrides in (["algorithm=grpo_kl"], ["algorithm=rapo"]):
        a = _alg(*overrides)
        assert a.needs_reference_worker and not a.needs_bank
        assert a.objective().sources() == ["rollout"]


def test_plain_grpo_needs_neither():
    a = _alg("algorithm=grpo")
    assert not a.needs_bank and not a.needs_reference_worker


def test_misconfigurations_fail_at_start():
    with pytest.raises(ValueError, match="algorithm=dph needs a divergence over pi_0's samples"):
        _alg("algorithm=dph", "divergence=reverse_kl")
    with pytest.raises(ValueError, match="divergence_coef is 0"):
        _alg("algorithm=grpo", "divergence=reverse_kl")
    with pytest.raises(ValueError, match="needs divergence=rapo"):
        _alg("algorithm=rapo", "divergence=js")


class _Bank:
    pef_prompt_ids = ["a", "c"]
    exp_prompt_ids = ["b"]


def test_dph_trains_on_d_exp_and_rehearses_d_pef():
    a = _alg("algorithm=dph")
    assert a.training_prompt_ids(["a", "b", "c"], _Bank()) == ["b"]
    assert a.bank_prompt_ids(["a", "b", "c"], _Bank()) == ["a", "c"]
    g = _alg("algorithm=grpo")
    assert g.training_prompt_ids(["a", "b", "c"], None) == ["a", "b", "c"]


def test_objective_is_policy_loss_plus_coef_times_divergence_on_its_source():
    torch.manual_seed(0)
    obj = _alg("algorithm=dph", "divergence=js", "algorithm.divergence_coef=0.3").objective()
    rollout = pack_sequences(
        [[1, 2], [1, 3]], [[4, 5, 6], [7]], 0, per_token={"logp_old": [[-1.0, -2.0, -0.5], [-1.5]]}
    )
    rollout.tensors["advantages"] = torch.tensor([1.0, -1.0])
    bank = pack_sequences(
        [[1], [2]], [[3, 4], [5, 6]], 0, per_token={"logp_ref": [[-0.7, -0.2], [-1.1, -0.9]]}
    )
    logp_r = (rollout.tensors["logp_old"] + 0.1 * torch.randn(rollout.input_ids.shape)).requires_grad_()
    logp_b = (bank.tensors["logp_ref"] + 0.2 * torch.randn(bank.input_ids.shape)).requires_grad_()
    loss, metrics = obj(
        {"rollout": LogProbOutput(logp_r, None), "bank": LogProbOutput(logp_b, None)},
        {"rollout": rollout, "bank": bank},
    )
    p, _ = ppo_clip(logp_r, rollout.tensors["logp_old"], rollout.tensors["advantages"], rollout.loss_mask)
    d, _ = divergence_loss(get_divergence("js"), logp_b, bank.tensors["logp_ref"], bank.loss_mask)
    assert float(loss.detach()) == pytest.approx(float((p + 0.3 * d).detach()), rel=1e-6)
    assert metrics["loss/divergence"] == pytest.approx(float(d), rel=1e-6)
    loss.backward()
    assert logp_b.grad.abs().sum() > 0  # the divergence reaches the bank log-probs
    assert torch.all(logp_b.grad[bank.loss_mask == 0] == 0)


def test_without_sampler_logprobs_pi_old_is_the_learners_own_detached():
    """rollout.sampler_logprobs=auto with one update per batch: the batch has no logp_old, and the
    loss (and its gradient) equal PPO's with logp_old = the learner's log-probs, detached."""
    obj = _alg("algorithm=grpo").objective()
    with_old = pack_sequences([[1, 2], [1, 3]], [[4, 5, 6], [7]], 0, per_token={"logp_old": [[0, 0, 0], [0]]})
    without = pack_sequences([[1, 2], [1, 3]], [[4, 5, 6], [7]], 0)
    assert "logp_old" not in without.tensors
    for b in (with_old, without):
        b.tensors["advantages"] = torch.tensor([1.0, -1.0])
    logp = torch.tensor([[0.0, 0.0, -0.3, -1.2, -0.4], [0.0, 0.0, -2.0, 0.0, 0.0]])
    with_old.tensors["logp_old"] = logp.clone()
    grads = []
    for b in (with_old, without):
        x = logp.clone().requires_grad_()
        loss, metrics = obj({"rollout": LogProbOutput(x, None)}, {"rollout": b})
        loss.backward()
        grads.append(x.grad)
        assert metrics["policy/ratio_max"] == 1.0 and metrics["policy/approx_kl"] == 0.0
    assert torch.equal(grads[0], grads[1]) and grads[0].abs().sum() > 0


@pytest.mark.parametrize(
    ("overrides", "wanted"),
    [
        ([], False),  # one optimizer step per batch, synchronous: the learner's own
        (["learner.mini_batches_per_step=4"], True),  # later mini-batches learn after an update
        (["learner.ppo_epochs=2"], True),
        (["rollout.max_staleness=1"], True),  # sampled by older weights
        (["rollout.sampler_logprobs=always"], True),
    ],
)
def test_the_sampler_is_asked_for_logprobs_only_when_the_learner_cannot_give_them(overrides, wanted):
    from rlvr.trainer.components import wants_sampler_logprobs

    cfg = compose_config(["algorithm=grpo", "learner.mini_batches_per_step=1", *overrides])
    assert wants_sampler_logprobs(cfg.rollout, cfg.learner) is wanted


def test_a_wrong_sampler_logprobs_value_names_the_key():
    from rlvr.trainer.components import wants_sampler_logprobs

    cfg = compose_config(["rollout.sampler_logprobs=never"])
    with pytest.raises(ValueError, match="rollout.sampler_logprobs='never'"):
        wants_sampler_logprobs(cfg.rollout, cfg.learner)
