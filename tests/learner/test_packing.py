"""Padding-free forwards: packed rows give the padded rows' log-probs and gradients."""

from __future__ import annotations

import logging

import pytest
import torch
from learner_helpers import VOCAB, random_batch
from transformers import AutoModelForCausalLM

from rlvr.batch import pack_sequences
from rlvr.learner import packing as packing_module
from rlvr.learner.logprobs import LogProbModel, check_packing, naive_token_logprobs, token_logprobs
from rlvr.learner.packing import ATTENTION, Segments, pack_rows, plan_bins, synthetic_batch


@pytest.fixture(scope="module")
def model(tiny_model_path):
    return AutoModelForCausalLM.from_pretrained(tiny_model_path, dtype=torch.float32)


def test_bins_are_first_fit_decreasing_and_never_overflow():
    place = plan_bins([5, 2, 7, 3, 1, 6], width=8)
    # Decreasing: 7 -> bin 0, 6 -> bin 1, 5 -> bin 2, 3 -> bin 2, 2 -> bin 1, 1 -> bin 0.
    assert place == [(2, 0), (1, 6), (0, 0), (2, 5), (0, 7), (1, 0)]
    cells = [(b, o + t) for n, (b, o) in zip([5, 2, 7, 3, 1, 6], place, strict=True) for t in range(n)]
    assert len(set(cells)) == len(cells)  # no two tokens share a cell
    assert max(c for _, c in cells) < 8
    with pytest.raises(ValueError, match="sequence 0 has 9 tokens"):
        plan_bins([9], width=8)


def grouped_batch(groups: int, per_group: int, seed: int):
    """`groups` prompts with `per_group` random responses each (rows of a group share the prompt)."""
    g = torch.Generator().manual_seed(seed)
    prompts, responses = [], []
    for _ in range(groups):
        prompt = torch.randint(3, VOCAB, (int(torch.randint(2, 9, (1,), generator=g)),), generator=g).tolist()
        for _ in range(per_group):
            prompts.append(prompt)
            n = int(torch.randint(1, 12, (1,), generator=g))
            responses.append(torch.randint(3, VOCAB, (n,), generator=g).tolist())
    return pack_sequences(prompts, responses, pad_id=0)


@pytest.mark.parametrize("mask", ["bool", "additive", "positions"])
def test_packed_layout_holds_every_token_once_at_its_position(mask):
    batch = grouped_batch(3, 4, seed=1)
    packing = pack_rows(batch.input_ids, batch.attention_mask, batch.loss_mask, hidden_size=32, mask=mask)
    assert packing is not None
    real = batch.attention_mask > 0
    flat_ids = packing.input_ids.reshape(-1)
    flat_pos = packing.position_ids.reshape(-1)
    assert torch.equal(flat_ids[packing.index[real]], batch.input_ids[real])
    cols = torch.arange(batch.input_ids.shape[1]).expand_as(batch.input_ids)
    assert torch.equal(flat_pos[packing.index[real]], cols[real])
    computed = packing.input_ids.numel()
    if mask == "positions":  # no masks, no sharing: each real token once
        assert packing.attention_mask is None
        assert packing.index[real].unique().numel() == int(real.sum())
    else:  # each prompt once: fewer distinct positions than real tokens
        assert packing.index[real].unique().numel() < int(real.sum())
        assert computed < int(real.sum())


def test_a_suffix_sees_its_prefix_and_itself_only():
    ids, attn, sel = synthetic_batch(128, "cpu")
    packing = pack_rows(ids, attn, sel, hidden_size=32, mask="bool")
    C = packing.input_ids.shape[1]
    at = lambda b, t: int(packing.index[b, t])  # noqa: E731
    row = lambda b, t: at(b, t) // C  # noqa: E731
    # Row 1 shares row 0's prefix (columns 0-2).
    assert [at(1, t) for t in range(3)] == [at(0, t) for t in range(3)]
    m = packing.attention_mask[row(1, 3), 0]
    col = lambda b, t: at(b, t) % C  # noqa: E731
    assert all(m[col(1, 3), col(0, t)] for t in range(3))  # row 1's first own token sees the prefix
    assert not any(m[col(1, 3), col(0, t)] for t in range(3, 6))  # and not row 0's own tokens
    assert not m[col(0, 5), col(1, 3)]


def test_no_packing_when_no_row_is_saved():
    batch = random_batch(1, seed=2)
    assert pack_rows(batch.input_ids, batch.attention_mask, batch.loss_mask, hidden_size=32) is None


@pytest.fixture
def free_gathers(monkeypatch):
    """Attention per sequence whenever it computes fewer pairs (these batches are too small for
    it to pay for its copies)."""
    monkeypatch.setattr(packing_module, "GATHER_COST", 0.0)


@pytest.mark.parametrize("grouped", [True, False])
@pytest.mark.parametrize("kv_heads", [4, 2, 1])
def test_attention_per_sequence_equals_sdpa_over_the_rows_mask(grouped, kv_heads, free_gathers):
    if grouped:
        batch = grouped_batch(3, 5, seed=3)
        ids, attn, sel = batch.input_ids, batch.attention_mask, batch.loss_mask
    else:  # nothing shared: long and short sequences, two to a packed row
        attn = (torch.arange(10) < torch.tensor([10, 9, 10, 4, 5, 4]).unsqueeze(1)).long()
        ids, sel = torch.randint(3, VOCAB, attn.shape) * attn, None
    packing = pack_rows(ids, attn, sel, hidden_size=8, mask="bool", segments=True)
    assert packing is not None and packing.segments is not None
    R, C = packing.input_ids.shape
    g = torch.Generator().manual_seed(0)
    q = torch.randn(R, 4, C, 16, generator=g, requires_grad=True)
    k = torch.randn(R, kv_heads, C, 16, generator=g, requires_grad=True)
    v = torch.randn(R, kv_heads, C, 16, generator=g, requires_grad=True)
    got = packing.segments.attend(q, k, v, scaling=0.25, dropout=0.0)
    rep = 4 // kv_heads
    want = torch.nn.functional.scaled_dot_product_attention(
        q,
        k.repeat_interleave(rep, dim=1),
        v.repeat_interleave(rep, dim=1),
        attn_mask=packing.attention_mask,
        scale=0.25,
    ).transpose(1, 2)
    real = packing.index[attn > 0].unique()  # packed positions of real tokens
    torch.testing.assert_close(got.reshape(R * C, -1)[real], want.reshape(R * C, -1)[real])
    w = torch.randn(R * C, 4 * 16, generator=g)[real]
    grads = [torch.autograd.grad((out.reshape(R * C, -1)[real] * w).sum(), (q, k, v)) for out in (got, want)]
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_a_prompt_and_its_samples_attend_to_fewer_pairs_than_their_row(free_gathers):
    batch = grouped_batch(2, 8, seed=4)
    dense = pack_rows(batch.input_ids, batch.attention_mask, batch.loss_mask, hidden_size=8, mask="bool")
    per_seq = pack_rows(
        batch.input_ids, batch.attention_mask, batch.loss_mask, hidden_size=8, mask="bool", segments=True
    )
    assert dense.segments is None and per_seq.segments is not None
    pairs = sum(queries.numel() * keys.shape[1] for queries, keys, _ in per_seq.segments.buckets)
    assert pairs < per_seq.attention_mask.numel()  # what SDPA over whole rows would compute
    # the 4-D mask still goes along (a decoder that drops the segments falls back to it)
    assert per_seq.attention_mask is not None


def long_prompt_batch(prompt: int, groups: int, per_group: int, responses: tuple[int, int]):
    g = torch.Generator().manual_seed(0)
    prompts, outs = [], []
    for _ in range(groups):
        p = torch.randint(3, VOCAB, (prompt,), generator=g).tolist()
        for _ in range(per_group):
            prompts.append(p)
            outs.append(
                torch.randint(
                    3, VOCAB, (int(torch.randint(*responses, (1,), generator=g)),), generator=g
                ).tolist()
            )
    return pack_sequences(prompts, outs, pad_id=0)


def test_attention_per_sequence_is_chosen_where_it_was_measured_faster():
    # The shapes GATHER_COST was set between (bench/packing.py): a toy model's GRPO micro-batch,
    # where copying vectors cost more than the pairs saved with responses up to 48 and less with
    # responses up to 64, and a long prompt with 8 samples.
    toy = long_prompt_batch(45, 4, 8, (1, 49))
    packed = pack_rows(toy.input_ids, toy.attention_mask, toy.loss_mask, hidden_size=128, segments=True)
    assert packed is not None and packed.segments is None
    toy_long = long_prompt_batch(45, 4, 8, (1, 65))  # measured 0.92x with responses up to 64
    packed = pack_rows(
        toy_long.input_ids, toy_long.attention_mask, toy_long.loss_mask, hidden_size=128, segments=True
    )
    assert packed is not None and packed.segments is not None
    sql = long_prompt_batch(400, 1, 8, (60, 97))
    packed = pack_rows(sql.input_ids, sql.attention_mask, sql.loss_mask, hidden_size=576, segments=True)
    assert packed is not None and packed.segments is not None
    # and never where the model's attention cannot take them
    assert pack_rows(sql.input_ids, sql.attention_mask, sql.loss_mask, hidden_size=576).segments is None


@pytest.mark.parametrize("with_entropy", [True, False])
@pytest.mark.parametrize("grouped", [True, False])
def test_packed_values_and_gradients_match_padded_rows(
    model, with_entropy, grouped, monkeypatch, free_gathers
):
    batch = grouped_batch(4, 4, seed=5) if grouped else random_batch(16, seed=5)
    assert pack_rows(batch.input_ids, batch.attention_mask, batch.loss_mask, hidden_size=32) is not None
    calls = []
    attend = Segments.attend
    monkeypatch.setattr(Segments, "attend", lambda self, *a: calls.append(1) or attend(self, *a))
    grads, outs = {}, {}
    for pack in (False, True):
        model.zero_grad(set_to_none=True)
        out = token_logprobs(
            model, batch, temperature=0.8, with_entropy=with_entropy, chunk_tokens=7, pack=pack
        )
        w = torch.linspace(0.5, 1.5, out.logprobs.numel()).view_as(out.logprobs)
        loss = (out.logprobs * w).sum() + (0.3 * out.entropy.sum() if with_entropy else 0)
        loss.backward()
        grads[pack] = {n: p.grad.clone() for n, p in model.named_parameters()}
        outs[pack] = out
    assert model.config._attn_implementation == ATTENTION
    if grouped:  # a prompt and its samples: attention per sequence computes fewer pairs
        assert calls
    naive = naive_token_logprobs(model, batch, temperature=0.8)
    torch.testing.assert_close(outs[True].logprobs, naive.logprobs, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(outs[True].logprobs, outs[False].logprobs, atol=1e-5, rtol=1e-4)
    if with_entropy:
        torch.testing.assert_close(outs[True].entropy, outs[False].entropy, atol=1e-5, rtol=1e-4)
    for name, g in grads[False].items():
        torch.testing.assert_close(grads[True][name], g, atol=1e-5, rtol=1e-4, msg=name)


def test_the_check_runs_the_attention_per_sequence(model, monkeypatch):
    calls = []
    attend = Segments.attend
    monkeypatch.setattr(Segments, "attend", lambda self, *a: calls.append(1) or attend(self, *a))
    lp = LogProbModel(model, pack=True)
    assert check_packing(lp) < 1e-4
    assert calls and lp.pack and model.config._attn_implementation == ATTENTION


def test_a_wrong_attention_per_sequence_falls_back_to_the_rows_mask(model, monkeypatch, caplog):
    monkeypatch.setattr(Segments, "attend", lambda self, q, *a: torch.zeros_like(q.transpose(1, 2)))
    lp = LogProbModel(model, pack=True)
    try:
        with caplog.at_level(logging.WARNING, logger="rlvr.learner.logprobs"):
            assert check_packing(lp) < 1e-4
        assert lp.pack and model.config._attn_implementation == "sdpa"
        assert "back to SDPA over each packed row's mask" in caplog.text
    finally:
        model.config._attn_implementation = ATTENTION


def test_packing_is_kept_for_a_model_that_reads_packed_position_ids(model):
    lp = LogProbModel(model, pack=True)
    assert check_packing(lp) < 1e-4
    assert lp.pack


class _IgnoresPositions(torch.nn.Module):
    """A decoder that drops position_ids, the mask and the segments: packed sequences would see
    each other."""

    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, input_ids, attention_mask=None, position_ids=None, use_cache=False, **kwargs):
        return self.body(input_ids=input_ids, use_cache=use_cache)


def test_packing_is_turned_off_with_a_warning_when_sequences_would_see_each_other(model, caplog):
    lp = LogProbModel(model, pack=True)
    real = model.get_decoder
    model.get_decoder = lambda: _IgnoresPositions(real())
    try:
        with caplog.at_level(logging.WARNING, logger="rlvr.learner.logprobs"):
            diff = check_packing(lp)
    finally:
        del model.get_decoder
    assert diff > 0.1
    assert not lp.pack
    assert "attends across packed sequences" in caplog.text


@pytest.mark.parametrize("pack_sequences", [True, False])
def test_reference_worker_scores_packed_trimmed_micro_batches_like_the_naive_model(
    model, tiny_model_path, pack_sequences
):
    from rlvr.trainer.reference import ReferenceWorker

    batch = random_batch(11, seed=8)
    worker = ReferenceWorker(
        str(tiny_model_path), temperature=0.9, device="cpu", pack_sequences=pack_sequences
    )
    assert worker.model.pack is pack_sequences
    got = worker.compute_logprobs(batch, micro_batch_size=4)
    want = naive_token_logprobs(model, batch, temperature=0.9).logprobs
    assert got.shape == batch.input_ids.shape
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_mask_kind_follows_the_attention_and_any_sliding_window():
    from transformers import LlamaConfig, MistralConfig, Qwen2Config

    from rlvr.learner.packing import attention_mask_kind

    llama = LlamaConfig()
    assert attention_mask_kind(llama) == "bool"  # sdpa by default
    llama._attn_implementation = "eager"
    assert attention_mask_kind(llama) == "additive"
    llama._attn_implementation = "flash_attention_2"
    assert attention_mask_kind(llama) == "positions"
    # A 4-D mask would replace a sliding window: position ids only.
    assert attention_mask_kind(MistralConfig(sliding_window=4096)) == "positions"
    assert attention_mask_kind(Qwen2Config(use_sliding_window=True, sliding_window=4096)) == "positions"
    assert attention_mask_kind(Qwen2Config(use_sliding_window=False)) == "bool"  # Qwen2.5's default


def test_a_sliding_window_model_packs_by_position_ids_with_the_same_logprobs():
    from transformers import MistralConfig, MistralForCausalLM

    torch.manual_seed(0)
    config = MistralConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        sliding_window=4,  # shorter than the rows: the window matters
        pad_token_id=0,
    )
    mistral = MistralForCausalLM(config)
    batch = grouped_batch(3, 4, seed=9)
    lp = LogProbModel(mistral, pack=True)
    assert check_packing(lp) < 1e-4 and lp.pack
    packed = token_logprobs(mistral, batch, pack=True).logprobs
    padded = token_logprobs(mistral, batch, pack=False).logprobs
    torch.testing.assert_close(packed, padded, atol=1e-5, rtol=1e-4)
    windowless = MistralForCausalLM(MistralConfig(**{**config.to_dict(), "sliding_window": None}))
    windowless.load_state_dict(mistral.state_dict())
    assert (token_logprobs(windowless, batch).logprobs - padded).abs().max() > 1e-4  # the window is real
