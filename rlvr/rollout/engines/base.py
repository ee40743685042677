"""The interface every rollout engine provides, and the log-prob convention they share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, Protocol, runtime_checkable

import torch

from rlvr.rollout.types import Generation, SamplingParams

# Which log-probs `Generation.logprobs` holds (same names as vLLM's `logprobs_mode`, minus the
# "_logprobs" suffix):
# - "raw":       log softmax of the model's logits, before temperature / top-k / top-p. This is
#                log pi(y_t | y_<t) of the model itself, what the learner recomputes; use it for
#                PPO's log pi_old. At temperature 1 with no top-k/top-p it is also exactly the
#                distribution sampled from.
# - "processed": log softmax after temperature and top-k/top-p (filtered tokens at -inf, the
#                rest renormalised): the distribution actually sampled from. Use it when the
#                learner also divides logits by the temperature (and applies the same filters).
# Greedy decoding (temperature 0) returns raw log-probs in both modes.
LogprobsMode = Literal["raw", "processed"]
LOGPROBS_MODES: tuple[str, ...] = ("raw", "processed")

NamedTensors = Iterable[tuple[str, torch.Tensor]] | Mapping[str, torch.Tensor]


@runtime_checkable
class RolloutEngine(Protocol):
    """A text generator over token ids whose weights can be replaced in place.

    Engines take token ids, not text: the tokenizer (and its chat template) belongs to the task,
    and passing ids keeps what the learner scores identical to what the engine saw.
    """

    name: str
    logprobs_mode: LogprobsMode

    def generate(self, prompt_token_ids: list[list[int]], params: SamplingParams) -> list[Generation]:
        """`params.n` generations per prompt, ordered by (prompt_index, sample_index)."""
        ...

    def score(self, token_ids: list[list[int]]) -> list[list[float]]:
        """Raw log p(x_t | x_<t) at temperature 1 for t = 1..len-1 of each sequence (len-1 values)."""
        ...

    def update_weights(self, named_tensors: NamedTensors) -> None:
        """Replace the model's weights by a full set of (name, tensor) pairs in Hugging Face
        checkpoint names (what `model.named_parameters()` of the HF model yields)."""
        ...

    def close(self) -> None:
        """Free the model and any engine threads/processes; the engine is unusable afterwards."""
        ...


def as_pairs(named_tensors: NamedTensors) -> list[tuple[str, torch.Tensor]]:
    """Materialise a state dict or an iterable of pairs as a list of (name, tensor)."""
    items = named_tensors.items() if isinstance(named_tensors, Mapping) else named_tensors
    return [(str(name), tensor) for name, tensor in items]


def check_prompts(prompt_token_ids: list[list[int]]) -> None:
    for i, prompt in enumerate(prompt_token_ids):
        if len(prompt) == 0:
            raise ValueError(f"prompt {i} is empty; every prompt needs at least one token (e.g. BOS)")
