"""The tiny model builder: a tokenizer fit for arithmetic text, and a seeded Llama checkpoint."""

from __future__ import annotations

import hashlib

import pytest

from rlvr.models import build_tiny_model, build_tokenizer, count_parameters

ARITHMETIC = [
    "What is 23 + 48? The answer is \\boxed{71}",
    "Tom has 12 apples. Anna gives Tom 5 more apples. How many apples does Tom have now?",
    "First, 17 + 8 = 25. Then 25 - 6 = 19. Finally, 19 \\times 3 = 57. The answer is \\boxed{57}.",
    "Compute 1024 \\div 32.  Tabs\tand unicode: 3 × 4 ≠ 13, naïve café 😀",
]


@pytest.fixture(scope="module")
def small_tokenizer():
    return build_tokenizer(vocab_size=512, seed=0)


def test_tokenizer_round_trips_arithmetic_text(small_tokenizer):
    for text in ARITHMETIC:
        ids = small_tokenizer(text)["input_ids"]
        assert small_tokenizer.decode(ids) == text


def test_tokenizer_splits_digits_and_merges_words(small_tokenizer):
    tokens = small_tokenizer.convert_ids_to_tokens(
        small_tokenizer("What is 123 + 48? The answer")["input_ids"]
    )
    assert [t for t in tokens if t.strip("Ġ").isdigit()] == ["1", "2", "3", "4", "8"]
    # the corpus makes common words single tokens: text costs few tokens per character
    assert "Ġanswer" in tokens and "What" in tokens
    question = ARITHMETIC[1]
    assert len(small_tokenizer(question)["input_ids"]) < len(question) / 2.5


def test_tokenizer_special_tokens_and_chat_template(small_tokenizer):
    tok = small_tokenizer
    assert (tok.pad_token, tok.bos_token, tok.eos_token) == ("<pad>", "<s>", "</s>")
    assert (tok.pad_token_id, tok.bos_token_id, tok.eos_token_id) == (0, 1, 2)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2 + 3?"}]
    text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert text == "<s><|system|>\nBe brief.</s>\n<|user|>\nWhat is 2 + 3?</s>\n<|assistant|>\n"
    ids = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)["input_ids"]
    assert ids[0] == tok.bos_token_id and ids.count(tok.eos_token_id) == 2
    assert tok.convert_tokens_to_ids("<|assistant|>") in ids  # role markers are single tokens
    # no automatic BOS on plain text (the template writes it)
    assert tok("What")["input_ids"][0] != tok.bos_token_id
    assert tok.decode(ids, skip_special_tokens=True).strip().endswith("What is 2 + 3?")


def test_tokenizer_is_deterministic():
    a = build_tokenizer(vocab_size=384, seed=3, corpus_lines=500).backend_tokenizer.to_str()
    b = build_tokenizer(vocab_size=384, seed=3, corpus_lines=500).backend_tokenizer.to_str()
    assert a == b


def test_tokenizer_rejects_too_small_vocab():
    with pytest.raises(ValueError, match="256 bytes"):
        build_tokenizer(vocab_size=100)


def _digest(path) -> str:
    return hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()


def test_tiny_model_is_seeded_and_loads_offline(tmp_path, small_tokenizer):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cfg = dict(hidden_size=64, num_layers=1, num_heads=2, tokenizer=small_tokenizer)
    a = build_tiny_model(tmp_path / "a", seed=0, **cfg)
    b = build_tiny_model(tmp_path / "b", seed=0, **cfg)
    c = build_tiny_model(tmp_path / "c", seed=1, **cfg)
    assert _digest(a) == _digest(b) != _digest(c)

    model = AutoModelForCausalLM.from_pretrained(a)
    tok = AutoTokenizer.from_pretrained(a)
    assert type(model).__name__ == "LlamaForCausalLM"
    assert model.config.vocab_size == len(tok) and model.config.head_dim == 32
    assert sum(p.numel() for p in model.parameters()) == count_parameters(a)
    assert tok.chat_template is not None and tok.eos_token_id == model.config.eos_token_id


def test_default_size_is_a_few_million_parameters(tiny_model_dir):
    assert 100_000 < count_parameters(tiny_model_dir) < 5_000_000


def test_head_dim_must_suit_vllm(tmp_path, small_tokenizer):
    with pytest.raises(ValueError, match="head_dim"):
        build_tiny_model(tmp_path, hidden_size=96, num_heads=4, tokenizer=small_tokenizer)  # head_dim 24
