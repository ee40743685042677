"""Bank storage round-trips, refuses foreign manifests, and samples batches that resume exactly."""

import random

import pytest
import torch

from rlvr.bank import BankMismatchError, BankSample, BankSampler, BankWriter, ReferenceBank, model_fingerprint


def _sample(pid, k, n_resp=3):
    return BankSample(
        prompt_id=pid,
        sample_index=k,
        prompt_token_ids=[1, 2, 3],
        response_token_ids=list(range(4, 4 + n_resp)),
        logp_ref=[-0.5 * (j + 1) for j in range(n_resp)],
        text=f"{pid}-{k}",
        score=1.0,
        correct=True,
        reason="ok",
    )


def _bank(tmp_path, shard_size=3):
    w = BankWriter(tmp_path / "bank", shard_size=shard_size)
    for pid in ("a", "b", "c"):
        for k in range(2):
            w.add(_sample(pid, k, n_resp=2 + k))
    return w.finish(
        {
            "model_fingerprint": "M",
            "prompts_fingerprint": "P",
            "model": {"path": "/models/x"},
            "split": {"pef": ["a", "b"], "exp": ["c"]},
        }
    )


def test_round_trip_across_shards(tmp_path):
    bank = _bank(tmp_path)
    assert len(bank.manifest["shards"]) == 2 and len(bank) == 6
    again = ReferenceBank(tmp_path / "bank")
    samples = again.samples(["b"])
    assert [s.sample_index for s in samples] == [0, 1]
    assert samples[1].response_token_ids == [4, 5, 6]
    assert samples[1].logp_ref == pytest.approx([-0.5, -1.0, -1.5])
    assert again.pef_prompt_ids == ["a", "b"] and again.exp_prompt_ids == ["c"]


def test_foreign_manifest_is_refused_naming_the_field(tmp_path):
    bank = _bank(tmp_path)
    bank.check(model_fingerprint="M", prompts_fingerprint="P")
    with pytest.raises(BankMismatchError, match="model_fingerprint.*/models/x"):
        bank.check(model_fingerprint="OTHER", prompts_fingerprint="P")
    with pytest.raises(BankMismatchError, match="prompts_fingerprint"):
        bank.check(model_fingerprint="M", prompts_fingerprint="OTHER")


def test_writer_refuses_to_overwrite_and_checks_lengths(tmp_path):
    _bank(tmp_path)
    with pytest.raises(FileExistsError):
        BankWriter(tmp_path / "bank")
    w = BankWriter(tmp_path / "other")
    bad = _sample("a", 0)
    bad.logp_ref = [0.0]
    with pytest.raises(ValueError, match="1 log-probs for 3 response tokens"):
        w.add(bad)


def test_sampler_packs_logp_ref_at_response_positions_and_resumes(tmp_path):
    bank = _bank(tmp_path)
    s = BankSampler(bank, bank.pef_prompt_ids, batch_size=3, pad_id=0, seed=1)
    batch = s.next_batch()
    assert batch.input_ids.shape[0] == 3
    assert torch.equal(batch.loss_mask[:, :3], torch.zeros(3, 3))  # prompt tokens are not in the loss
    for i in range(3):
        n = int(batch.loss_mask[i].sum())
        assert batch.tensors["logp_ref"][i, 3 : 3 + n].tolist() == pytest.approx(
            [-0.5 * (j + 1) for j in range(n)]
        )
    state = s.state()
    expected = [s.next_batch().input_ids for _ in range(3)]
    t = BankSampler(bank, bank.pef_prompt_ids, batch_size=3, pad_id=0, seed=1)
    t.load_state(state)
    assert all(torch.equal(a, t.next_batch().input_ids) for a in expected)


def test_sampler_with_no_samples_says_what_to_do(tmp_path):
    bank = _bank(tmp_path)
    with pytest.raises(ValueError, match="pef_threshold"):
        BankSampler(bank, [], batch_size=2, pad_id=0)


def test_model_fingerprint_changes_with_weights(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"a" * 100)
    before = model_fingerprint(tmp_path)
    assert model_fingerprint(tmp_path) == before
    (tmp_path / "model.safetensors").write_bytes(b"a" * 99 + b"b")
    assert model_fingerprint(tmp_path) != before


def test_the_run_threshold_splits_the_stored_samples(tmp_path):
    """D_pef/D_exp follow the reading run's pef_threshold, not the one the bank was sampled with."""
    from dataclasses import replace

    w = BankWriter(tmp_path / "bank")
    for pid, n_correct in (("a", 4), ("b", 3), ("c", 1), ("d", 0)):
        for k in range(4):
            w.add(replace(_sample(pid, k), correct=k < n_correct))
    w.finish(
        {"pef_threshold": 1.0, "split": {"pef": ["a"], "exp": ["b", "c", "d"]}, "model_fingerprint": "M"}
    )
    path = tmp_path / "bank"
    assert ReferenceBank(path).pef_prompt_ids == ["a"]  # as written
    assert ReferenceBank(path, pef_threshold=1.0).pef_prompt_ids == ["a"]
    bank = ReferenceBank(path, pef_threshold=0.75)
    assert (bank.pef_prompt_ids, bank.exp_prompt_ids) == (["a", "b"], ["c", "d"])
    assert ReferenceBank(path, pef_threshold=0.25).exp_prompt_ids == ["d"]


def _mixed_bank(tmp_path):
    """Prompt a: 4/4 correct, b: 3/4, c: 1/4; sampled at T=1.0, top_p=0.9."""
    from dataclasses import replace

    w = BankWriter(tmp_path / "mixed")
    for pid, n_correct in (("a", 4), ("b", 3), ("c", 1)):
        for k in range(4):
            w.add(replace(_sample(pid, k), text=f"{pid}-{k}", correct=k < n_correct))
    w.finish(
        {
            "model_fingerprint": "M",
            "prompts_fingerprint": "P",
            "split": {"pef": ["a"], "exp": ["b", "c"]},
            "sampling": {"n": 4, "temperature": 1.0, "top_p": 0.9, "top_k": None, "max_tokens": 64},
        }
    )
    return ReferenceBank(tmp_path / "mixed", pef_threshold=0.75)


def test_only_correct_pi0_samples_are_rehearsed_by_default(tmp_path):
    bank = _mixed_bank(tmp_path)
    assert bank.pef_prompt_ids == ["a", "b"]
    correct = BankSampler(bank, bank.pef_prompt_ids, batch_size=2, pad_id=0, order="shuffled")
    assert sorted(s.text for s in correct.samples) == ["a-0", "a-1", "a-2", "a-3", "b-0", "b-1", "b-2"]
    every = BankSampler(bank, bank.pef_prompt_ids, batch_size=2, pad_id=0, rehearse="all")
    assert len(every.samples) == 8 and "b-3" in {s.text for s in every.samples}
    # an epoch of batches draws each correct sample once and never the wrong one
    drawn = [correct.samples[i].text for i in correct.cycle.take(7)]
    assert sorted(drawn) == sorted(s.text for s in correct.samples)
    with pytest.raises(ValueError, match="no correct samples"):
        BankSampler(_only_wrong(tmp_path), ["z"], batch_size=1, pad_id=0)
    with pytest.raises(ValueError, match="bank.rehearse must be one of correct, all"):
        BankSampler(bank, bank.pef_prompt_ids, batch_size=2, pad_id=0, rehearse="wrong")


def _only_wrong(tmp_path):
    from dataclasses import replace

    w = BankWriter(tmp_path / "wrong")
    w.add(replace(_sample("z", 0), correct=False))
    return w.finish({"split": {"pef": ["z"], "exp": []}})


def test_a_bank_is_refused_under_other_sampling_naming_the_field(tmp_path):
    bank = _mixed_bank(tmp_path)
    bank.check(model_fingerprint="M", prompts_fingerprint="P", sampling={"temperature": 1.0, "top_p": 0.9})
    with pytest.raises(BankMismatchError, match=r"sampling.temperature=1.0, this run samples with 0.7"):
        bank.check(
            model_fingerprint="M", prompts_fingerprint="P", sampling={"temperature": 0.7, "top_p": 0.9}
        )
    with pytest.raises(BankMismatchError, match=r"sampling.top_p=0.9, this run samples with 1.0"):
        bank.check(
            model_fingerprint="M", prompts_fingerprint="P", sampling={"temperature": 1.0, "top_p": 1.0}
        )


def test_the_default_bank_path_names_the_sampling():
    from rlvr.bank.naming import bank_path
    from rlvr.config import compose_config

    base = bank_path(compose_config([]))
    hot = bank_path(compose_config(["rollout.sampling.temperature=0.7", "rollout.sampling.top_p=0.95"]))
    assert base.name.endswith("-T1-p1") and hot.name.endswith("-T0.7-p0.95") and base.parent == hot.parent


def _generation_order_bank(tmp_path):
    """Five prompts' pi_0 samples as `rlvr sample-reference` writes them (a prompt's samples side
    by side), some wrong; 11 correct samples in all."""
    from dataclasses import replace

    w = BankWriter(tmp_path / "gen", shard_size=4)
    correct = {"p0": [1, 1, 0], "p1": [1, 1, 1], "p2": [0, 1, 1], "p3": [1, 0, 1], "p4": [1, 1, 0]}
    for pid, flags in correct.items():
        for k, ok in enumerate(flags):
            s = replace(
                _sample(pid, k, n_resp=2 + k), prompt_token_ids=[1, 2, 10 + int(pid[1])], correct=bool(ok)
            )
            w.add(s)
    w.finish(
        {
            "model_fingerprint": "M",
            "prompts_fingerprint": "P",
            "model": {"path": "/models/x"},
            "split": {"pef": list(correct), "exp": []},
        }
    )
    return ReferenceBank(tmp_path / "gen")


def _rows(batch):
    """The (prompt id, sample index) of each row of a bank batch, read back from its tokens."""
    out = []
    for ids, mask in zip(batch.input_ids, batch.attention_mask, strict=True):
        out.append(f"p{int(ids[2]) - 10}-{int(mask.sum()) - 5}")  # responses of 2 + k tokens
    return out


def test_chunks_are_the_dph_authors_order_on_a_fixed_bank(tmp_path):
    """seamoke/DPH-RL ray_trainer.py: the correct samples in stored order, taken three times over,
    cut into consecutive chunks of the step's rows (remainder dropped), 100 clones of each
    shuffled; a step rehearses one chunk. Transcribed here on a fixed bank and compared row by row."""
    bank = _generation_order_bank(tmp_path)
    s = BankSampler(bank, bank.pef_prompt_ids, batch_size=4, pad_id=0, seed=3)
    names = [f"{x.prompt_id}-{x.sample_index}" for x in s.samples]
    assert names == ["p0-0", "p0-1", "p1-0", "p1-1", "p1-2", "p2-1", "p2-2", "p3-0", "p3-2", "p4-0", "p4-1"]
    # the authors' procedure, step by step
    total = names * 3
    total = total[: len(total) - len(total) % 4]
    chunks = [total[i : i + 4] for i in range(0, len(total), 4)]
    assert len(chunks) == s.num_chunks == 8
    clones = [c for _ in range(100) for c in chunks]
    random.Random("bank-chunks/3/0").shuffle(clones)  # the seeded shuffle SeededCycle makes
    steps = len(clones)
    drawn = [_rows(s.next_batch()) for _ in range(steps)]
    assert drawn == clones
    assert [s.chunk(i) for i in range(8)][1] == [4, 5, 6, 7]
    assert [s.chunk(i) for i in range(8)][2] == [8, 9, 10, 0]  # wraps into the second copy
    # over the authors' whole list every chunk came 100 times, and each step's rows share prompts
    counts = {}
    for d in drawn:
        counts[tuple(d)] = counts.get(tuple(d), 0) + 1
    assert sorted(counts.values()) == [100] * 8
    assert all(len({n.split("-")[0] for n in d}) <= 3 for d in drawn)


def test_chunks_split_across_mini_batches_and_resume_mid_chunk(tmp_path):
    bank = _generation_order_bank(tmp_path)
    s = BankSampler(bank, bank.pef_prompt_ids, batch_size=4, pad_id=0, seed=1)
    whole = BankSampler(bank, bank.pef_prompt_ids, batch_size=4, pad_id=0, seed=1)
    chunk = whole.next_batch()
    halves = [s.next_batch(2), s.next_batch(2)]  # a step of two mini-batches takes one chunk in two
    assert torch.equal(torch.cat([h.input_ids for h in halves]), chunk.input_ids)
    s.next_batch(4)
    first = s.next_batch(1)  # mid-chunk
    state = s.state()
    assert state["row"] == 1
    expected = [s.next_batch(k).input_ids for k in (3, 2, 4, 1)]
    t = BankSampler(bank, bank.pef_prompt_ids, batch_size=4, pad_id=0, seed=1)
    t.load_state(state)
    assert all(torch.equal(a, t.next_batch(k).input_ids) for a, k in zip(expected, (3, 2, 4, 1), strict=True))
    assert first.input_ids.shape[0] == 1
    shuffled = BankSampler(bank, bank.pef_prompt_ids, batch_size=4, pad_id=0, seed=1, order="shuffled")
    with pytest.raises(ValueError, match="bank.order=chunks"):
        shuffled.load_state(state)
    with pytest.raises(ValueError, match="bank.order=shuffled"):  # a checkpoint from before bank.order
        t.load_state({"epoch": 0, "cursor": 5})
    with pytest.raises(ValueError, match="bank.order must be one of chunks, shuffled"):
        BankSampler(bank, bank.pef_prompt_ids, batch_size=4, pad_id=0, order="random")


def test_capping_the_rows_recuts_the_chunks(tmp_path):
    bank = _generation_order_bank(tmp_path)
    s = BankSampler(bank, bank.pef_prompt_ids, batch_size=64, pad_id=0)
    assert s.num_chunks == 1  # 3 x 11 rows hold no chunk of 64: one wrapping chunk
    s.batch_size = len(s.samples)  # what the trainer does when bank_ratio asks for more rows
    assert s.num_chunks == 3 and s.chunk(1) == list(range(11))
    assert sorted(_rows(s.next_batch())) == sorted(_rows(s.next_batch()))  # every sample once per step
