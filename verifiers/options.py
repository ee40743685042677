"""Verifier options: dataclasses checked at construction, settable from strings (`--option k=v`)."""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, fields
from typing import Any, Literal, TypeVar

from verifiers.result import RewardShaping

OptionsT = TypeVar("OptionsT", bound="VerifierOptions")


def default_workers() -> int:
    """Worker processes per pool: one per core, at most 4 (a verifier shares the machine with training)."""
    return max(1, min(4, os.cpu_count() or 1))


@dataclass
class VerifierOptions:
    """Options every verifier has: reward shaping (see `RewardShaping`) and an input guard.

    max_response_chars: longer responses are `unparseable` without being looked at, which bounds the
    work any single response can cause (1 MB responses are a real failure mode of sampling).
    max_reference_chars: longer references are an `error` (the row can not be judged; not the
    model's fault) without being looked at: a service must not let a caller's 5 MB "reference" cost
    a worker seconds and a gigabyte.
    """

    score_correct: float = 1.0
    score_wrong: float = 0.0
    score_unparseable: float = 0.0
    score_failure: float = 0.0
    score_format: float = 0.0
    max_response_chars: int = 100_000
    max_reference_chars: int = 10_000

    def shaping(self) -> RewardShaping:
        return RewardShaping(
            correct=self.score_correct,
            wrong=self.score_wrong,
            unparseable=self.score_unparseable,
            failure=self.score_failure,
            format=self.score_format,
        )

    def validate(self) -> None:
        """Raise ValueError for out-of-range values. Subclasses extend it (and call super)."""
        if self.max_response_chars < 1:
            raise ValueError(f"max_response_chars must be >= 1, got {self.max_response_chars}")
        if self.max_reference_chars < 1:
            raise ValueError(f"max_reference_chars must be >= 1, got {self.max_reference_chars}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class PoolOptions(VerifierOptions):
    """Options of verifiers that judge in the killable worker pool (`verifiers.pool`).

    timeout:      seconds one response may take to judge; past it the worker is killed, reason timeout.
    workers:      worker processes (default min(4, cpu_count)).
    memory_mb:    address-space limit of each worker (RLIMIT_AS); 0 disables it.
    """

    timeout: float = 5.0
    workers: int = dataclasses.field(default_factory=default_workers)
    memory_mb: int = 2048

    def validate(self) -> None:
        super().validate()
        if not self.timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {self.timeout}")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.memory_mb < 0:
            raise ValueError(f"memory_mb must be >= 0 (0 = no limit), got {self.memory_mb}")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _coerce(name: str, value: Any, hint: Any) -> Any:
    """Turn a CLI/recipe string into the field's type; check Literal choices. Non-strings are type-checked."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise ValueError(f"option {name}={value!r}: choose one of {', '.join(map(str, choices))}")
        return value
    if hint is bool:
        if isinstance(value, str):
            low = value.strip().lower()
            if low in _TRUE | _FALSE:
                return low in _TRUE
            raise ValueError(f"option {name}={value!r}: expected a boolean (true/false)")
        if not isinstance(value, bool):
            raise ValueError(f"option {name}={value!r}: expected a boolean")
        return value
    if hint in (int, float):
        if isinstance(value, bool):
            raise ValueError(f"option {name}={value!r}: expected {hint.__name__}")
        try:
            if isinstance(value, str):
                return hint(value.strip())
            if hint is int and isinstance(value, float) and not value.is_integer():
                raise ValueError
            return hint(value)
        except (TypeError, ValueError):
            raise ValueError(f"option {name}={value!r}: expected {hint.__name__}") from None
    if hint is str and not isinstance(value, str):
        raise ValueError(f"option {name}={value!r}: expected a string")
    return value


def parse_options(cls: type[OptionsT], given: dict[str, Any], *, verifier: str) -> OptionsT:
    """Build `cls` from keyword options. Unknown names and bad values raise errors that list what is valid."""
    hints = typing.get_type_hints(cls)
    valid = {f.name for f in fields(cls)}
    unknown = sorted(set(given) - valid)
    if unknown:
        raise TypeError(
            f"unknown option(s) {', '.join(unknown)} for verifier {verifier!r}; valid options: {', '.join(sorted(valid))}"
        )
    values = {k: _coerce(k, v, hints[k]) for k, v in given.items()}
    options = cls(**values)
    options.validate()
    return options


def parse_strategies(extract: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """`extract` option ("boxed,answer_is") -> its strategies, each checked against `allowed`."""
    strategies = tuple(s.strip() for s in extract.split(",") if s.strip())
    if not strategies or any(s not in allowed for s in strategies):
        raise ValueError(f"extract={extract!r}: use a comma-separated list of {', '.join(allowed)}")
    return strategies
