"""Chunked log-probs/entropy equal the naive full-logits computation (values and gradients)."""

from __future__ import annotations

import pytest
import torch
from learner_helpers import random_batch
from transformers import AutoModelForCausalLM

from rlvr.batch import TokenBatch
from rlvr.learner.logprobs import naive_token_logprobs, token_logprobs


@pytest.fixture(scope="module")
def model(tiny_model_path):
    return AutoModelForCausalLM.from_pretrained(tiny_model_path, dtype=torch.float32)


@pytest.mark.parametrize("temperature", [1.0, 0.7])
@pytest.mark.parametrize("chunk_tokens", [1, 7, 4096])
def test_values_match_naive(model, temperature, chunk_tokens):
    batch = random_batch(5, seed=1)
    with torch.no_grad():
        ref = naive_token_logprobs(model, batch, temperature=temperature, with_entropy=True)
        got = token_logprobs(
            model, batch, temperature=temperature, with_entropy=True, chunk_tokens=chunk_tokens
        )
    torch.testing.assert_close(got.logprobs, ref.logprobs, atol=1e-5, rtol=0)
    torch.testing.assert_close(got.entropy, ref.entropy, atol=1e-5, rtol=0)
    # Masks respected: exactly the loss-mask positions are non-zero (random tokens never get p=1).
    assert torch.equal(got.logprobs != 0, batch.loss_mask > 0)
    assert (got.entropy[batch.loss_mask > 0] > 0).all()


def test_naive_is_plain_log_softmax_gather(model):
    """Pin the reference itself to the definition in rlvr.batch, independent of both helpers."""
    batch = random_batch(2, seed=5)
    with torch.no_grad():
        logits = model(batch.input_ids, attention_mask=batch.attention_mask).logits / 0.5
        got = token_logprobs(model, batch, temperature=0.5, chunk_tokens=3).logprobs
    b, t = torch.nonzero(batch.loss_mask)[0].tolist()
    expected = torch.log_softmax(logits[b, t - 1], -1)[batch.input_ids[b, t]]
    assert abs(got[b, t].item() - expected.item()) < 1e-5
    assert got[:, 0].abs().sum() == 0


def test_all_tokens_covers_every_non_pad_position(model):
    batch = random_batch(4, seed=2)
    with torch.no_grad():
        got = token_logprobs(model, batch, all_tokens=True, chunk_tokens=5).logprobs
        ref = naive_token_logprobs(
            model, TokenBatch(batch.input_ids, batch.attention_mask, batch.attention_mask.float())
        ).logprobs
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=0)
    expected = batch.attention_mask.bool().clone()
    expected[:, 0] = False
    assert torch.equal(got != 0, expected)


def _grads(model, fn, with_entropy):
    model.zero_grad(set_to_none=True)
    out = fn()
    # Weighted sum so that every position's gradient matters, plus entropy.
    w = torch.linspace(0.5, 1.5, out.logprobs.numel()).view_as(out.logprobs)
    loss = (out.logprobs * w).sum()
    if with_entropy:
        loss = loss + 0.3 * out.entropy.sum()
    loss.backward()
    return {n: p.grad.clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("keep_logits_bytes", [0, 1 << 30])  # recomputed in backward, or kept
@pytest.mark.parametrize("with_entropy", [True, False])
@pytest.mark.parametrize("temperature", [1.0, 0.8])
def test_gradients_match_naive(model, with_entropy, temperature, keep_logits_bytes):
    batch = random_batch(4, seed=3)
    kw = dict(temperature=temperature, with_entropy=with_entropy)
    ref = _grads(model, lambda: naive_token_logprobs(model, batch, **kw), with_entropy)
    got = _grads(
        model,
        lambda: token_logprobs(model, batch, chunk_tokens=6, keep_logits_bytes=keep_logits_bytes, **kw),
        with_entropy,
    )
    assert ref.keys() == got.keys()
    for name in ref:
        torch.testing.assert_close(got[name], ref[name], atol=1e-5, rtol=1e-4, msg=name)
    assert any(g.abs().sum() > 0 for g in got.values())


def test_logits_are_recomputed_only_when_they_do_not_fit(model):
    """The LM head runs once per chunk when the logits fit in keep_logits_bytes, twice (forward,
    then checkpoint's recomputation in backward) when they do not."""
    batch = random_batch(4, seed=6)
    head = model.get_output_embeddings()
    rows = int(batch.loss_mask[:, 1:].sum())
    need = rows * head.out_features * 4
    calls = []
    hook = head.register_forward_hook(lambda *_: calls.append(1))
    try:
        for budget, per_chunk in [(need, 1), (need - 1, 2), (0, 2)]:
            calls.clear()
            token_logprobs(
                model, batch, chunk_tokens=rows, keep_logits_bytes=budget
            ).logprobs.sum().backward()
            assert len(calls) == per_chunk, budget
    finally:
        hook.remove()


def test_a_second_backward_through_kept_logits_is_refused_not_wrong(model):
    # The backward turns the saved log-probs into the gradient in place: once only.
    batch = random_batch(2, seed=8)
    loss = token_logprobs(model, batch, keep_logits_bytes=1 << 30).logprobs.sum()
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match=r"second backward through the same graph \(retain_graph=True\)"):
        loss.backward()


def test_empty_selection_still_backpropagates(model):
    batch = random_batch(2, seed=4)
    empty = TokenBatch(batch.input_ids, batch.attention_mask, torch.zeros_like(batch.loss_mask))
    out = token_logprobs(model, empty, with_entropy=True)
    assert out.logprobs.abs().sum() == 0
    out.logprobs.sum().backward()  # a micro-batch without loss tokens must not break the step


def test_bad_temperature_says_what_to_do(model):
    with pytest.raises(ValueError, match="temperature must be > 0"):
        token_logprobs(model, random_batch(1), temperature=0.0)


def test_final_logit_softcapping_is_applied_like_hf():
    """Gemma-2 caps logits inside its forward; the chunked head must do the same."""
    from transformers import Gemma2Config, Gemma2ForCausalLM

    torch.manual_seed(0)
    config = Gemma2Config(
        vocab_size=128,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        final_logit_softcapping=2.0,
        pad_token_id=0,
    )
    model = Gemma2ForCausalLM(config)
    with torch.no_grad():
        model.lm_head.weight.mul_(50)  # large logits, so the cap matters
    batch = random_batch(3, seed=9)
    ref = _grads(model, lambda: naive_token_logprobs(model, batch, temperature=0.7, with_entropy=True), True)
    got = _grads(
        model, lambda: token_logprobs(model, batch, temperature=0.7, with_entropy=True, chunk_tokens=4), True
    )
    for name in ref:
        torch.testing.assert_close(got[name], ref[name], atol=1e-5, rtol=1e-4, msg=name)
    with torch.no_grad():
        torch.testing.assert_close(
            token_logprobs(model, batch, temperature=0.7).logprobs,
            naive_token_logprobs(model, batch, temperature=0.7).logprobs,
            atol=1e-5,
            rtol=0,
        )


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_head_statistics_over_several_entropy_blocks_match_autograd(temperature):
    # More rows than the forward's entropy holds at once (ENTROPY_ROWS): every block is computed.
    from rlvr.learner.logprobs import ENTROPY_ROWS, _TokenLogProbEntropy

    gen = torch.Generator().manual_seed(0)
    n, vocab = 2 * ENTROPY_ROWS + 37, 50
    logits = torch.randn(n, vocab, generator=gen, dtype=torch.float32) * 3
    targets = torch.randint(0, vocab, (n,), generator=gen)
    g_lp, g_ent = (
        torch.randn(n, generator=gen, dtype=torch.float32),
        torch.randn(n, generator=gen, dtype=torch.float32),
    )

    mine = logits.clone().requires_grad_()
    logp, entropy = _TokenLogProbEntropy.apply(mine, targets, temperature, True)
    ((logp * g_lp).sum() + (entropy * g_ent).sum()).backward()

    ref = logits.clone().requires_grad_()
    full = torch.log_softmax(ref / temperature, dim=-1)
    ref_logp, ref_entropy = full.gather(-1, targets[:, None])[:, 0], -(full.exp() * full).sum(-1)
    ((ref_logp * g_lp).sum() + (ref_entropy * g_ent).sum()).backward()
    torch.testing.assert_close(logp, ref_logp)
    torch.testing.assert_close(entropy, ref_entropy)
    torch.testing.assert_close(mine.grad, ref.grad)
