"""A small byte-level BPE tokenizer for arithmetic text, trained locally (no hub download).

Choices, and why:
- Byte-level: every string encodes and decodes back exactly (no unknown token), so a model can
  say anything and the verifier sees exactly what it said.
- Digits are split one per token before BPE: "123" and "132" share pieces, as in Llama/Qwen
  tokenizers, which is what makes small models learn arithmetic at all.
- No automatic BOS: the chat template writes `<s>` itself; callers that tokenize raw text add
  `tokenizer.bos_token_id` when they want one. (An automatic BOS plus a template BOS gives two.)
- Turns end with the EOS token `</s>`, so an assistant turn stops generation by itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from rlvr.models.arithmetic_corpus import arithmetic_corpus

BOS, EOS, PAD = "<s>", "</s>", "<pad>"
ROLE_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>"]
SPECIAL_TOKENS = [PAD, BOS, EOS, *ROLE_TOKENS]  # ids 0..5, in this order

# Jinja, rendered by transformers' apply_chat_template and by vLLM's chat entry points alike.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + eos_token + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


def train_bpe(corpus: Iterable[str], vocab_size: int) -> Tokenizer:
    """Train the raw `tokenizers.Tokenizer` (vocab <= vocab_size, specials first)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes, seen in the corpus or not
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    return tok


def build_tokenizer(*, vocab_size: int = 512, seed: int = 0, corpus_lines: int = 4000):
    """A `PreTrainedTokenizerFast` with bos/eos/pad and a chat template, trained on arithmetic text.

    The same (vocab_size, seed, corpus_lines) give the same tokenizer. vocab_size must leave room
    for the 256 bytes and the special tokens; the result may be smaller if the corpus runs out of
    merges (use `len(tokenizer)` as the model's vocabulary size).
    """
    from transformers import PreTrainedTokenizerFast

    minimum = 256 + len(SPECIAL_TOKENS)
    if vocab_size < minimum:
        raise ValueError(f"vocab_size={vocab_size} is below {minimum} (256 bytes + special tokens); raise it")
    raw = train_bpe(arithmetic_corpus(corpus_lines, seed=seed), vocab_size)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        additional_special_tokens=ROLE_TOKENS,
        clean_up_tokenization_spaces=False,  # would rewrite " ." and " ?" and break round trips
        model_max_length=2048,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer
