"""What goes into and comes out of a rollout engine: sampling parameters and generations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from rlvr.batch import TokenBatch, pack_sequences

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class SamplingParams:
    """Engine-independent sampling parameters (mapped onto vLLM's or transformers' own).

    n:              samples per prompt.
    temperature:    0 means greedy.
    top_p, top_k:   nucleus / top-k filtering; 1.0 and None mean off.
    max_tokens:     response length limit (a response that hits it finishes with "length").
    stop_token_ids: extra ids that end a response (EOS always does unless ignore_eos); the
                    stopping token is part of the response, so the policy learns to emit it.
    ignore_eos:     keep generating past EOS (benchmarks with a fixed length).
    seed:           makes one `generate` call reproducible: the same prompts, params and seed on
                    the same engine kind give the same samples. None: the engine's own RNG
                    stream, seeded once when the engine is created.
    logprobs:       return each sampled token's log-prob (`Generation.logprobs`). False: an
                    empty list, and the engine skips that per-token work (vLLM's log-prob
                    bookkeeping costs ~8% of tokens/s on the tiny model); the samples are the same.
    """

    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int | None = None
    max_tokens: int = 256
    stop_token_ids: tuple[int, ...] = ()
    ignore_eos: bool = False
    seed: int | None = None
    logprobs: bool = True

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"n={self.n}: need at least one sample per prompt")
        if self.temperature < 0:
            raise ValueError(f"temperature={self.temperature} is negative; use 0 for greedy")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p={self.top_p} must be in (0, 1]")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k={self.top_k} must be >= 1, or None for no top-k filtering")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens={self.max_tokens} must be >= 1")
        object.__setattr__(self, "stop_token_ids", tuple(int(t) for t in self.stop_token_ids))

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass
class Generation:
    """One sampled response.

    prompt_index:    index of its prompt in the list passed to `generate`.
    sample_index:    0..n-1 among the samples of that prompt.
    prompt_token_ids / token_ids: the prompt, and the response (stop token included).
    text:            the response decoded without special tokens.
    logprobs:        one float per response token: the sampler's log-prob of that token
                     (which distribution: see the engine's `logprobs_mode`; by default the raw
                     model at temperature 1, which is what PPO's log pi_old needs); empty when
                     the call asked for none (`SamplingParams.logprobs=False`).
    finish_reason:   "stop" (EOS or a stop id) or "length" (max_tokens).
    """

    prompt_index: int
    sample_index: int
    prompt_token_ids: list[int]
    token_ids: list[int]
    text: str
    logprobs: list[float]
    finish_reason: FinishReason
    weight_version: int = 0
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.logprobs and len(self.logprobs) != len(self.token_ids):
            raise ValueError(f"{len(self.logprobs)} log-probs for {len(self.token_ids)} response tokens")


def generations_to_batch(generations: Sequence[Generation], pad_id: int) -> TokenBatch:
    """Pack generations into a TokenBatch with the sampler log-probs as tensors["logp_old"]
    (left out when they were not asked for: the learner then uses its own, see
    rlvr.algorithms.objective)."""
    with_logprobs = all(g.logprobs or not g.token_ids for g in generations)
    return pack_sequences(
        [g.prompt_token_ids for g in generations],
        [g.token_ids for g in generations],
        pad_id=pad_id,
        per_token={"logp_old": [g.logprobs for g in generations]} if with_logprobs else {},
    )
