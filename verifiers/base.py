"""The verifier protocol: one base class for in-process verifiers, one for verifiers judged in the pool.

A third-party verifier is a subclass of `Verifier` (or `PooledVerifier` when its judging may hang,
crash or eat memory) that implements `judge`, plus one entry point in the `rlvr.verifiers` group.
"""

from __future__ import annotations

import importlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from verifiers.options import PoolOptions, VerifierOptions, parse_options
from verifiers.result import Judgement, Reason, VerifyResult

Text = str | bytes


def to_text(value: Text) -> str:
    """Responses are accepted as str or bytes. Bytes are decoded as UTF-8 with invalid sequences
    replaced (U+FFFD); str holding lone surrogates (e.g. bytes decoded with surrogateescape) is
    cleaned the same way, so everything downstream (regexes, JSON, HTTP) sees valid Unicode."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if not isinstance(value, str):
        raise TypeError(f"a response must be str or bytes, got {type(value).__name__}")
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        try:  # surrogateescape'd bytes: recover the original bytes, then replace what is not UTF-8
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:  # other lone surrogates
            return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def check_batch(
    responses: Sequence[Text], references: Sequence[str], metadata: Sequence[Mapping[str, Any]] | None
) -> list[Mapping[str, Any]]:
    """Validate the three parallel lists of a batch call; returns metadata ([{}...] when None)."""
    if len(responses) != len(references):
        raise ValueError(f"{len(responses)} responses but {len(references)} references")
    metadata = list(metadata) if metadata is not None else [{}] * len(responses)
    if len(metadata) != len(responses):
        raise ValueError(f"{len(responses)} responses but {len(metadata)} metadata entries")
    return metadata


def short(text: str, limit: int = 80) -> str:
    """Shorten `text` for a result's detail (details must stay small: they travel per row)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Verifier(ABC):
    """Turns (response, reference, metadata) into a `VerifyResult`.

    Subclasses set `name`, optionally `Options` (a `VerifierOptions` dataclass), and implement
    `judge`. Reward shaping, input cleaning, batching and error capture are done here.
    Metadata is per example (e.g. `db_path` for SQL; the prompt can travel as `prompt`).
    """

    name: ClassVar[str] = ""
    Options: ClassVar[type[VerifierOptions]] = VerifierOptions

    def __init__(self, **options: Any) -> None:
        self.options = parse_options(self.Options, options, verifier=self.name or type(self).__name__)
        self.shaping = self.options.shaping()

    @abstractmethod
    def judge(self, response: str, reference: str, metadata: Mapping[str, Any]) -> Judgement:
        """Decide one response. `response` is clean text no longer than `max_response_chars`."""

    def verify(self, response: Text, reference: str, **metadata: Any) -> VerifyResult:
        return self.verify_batch([response], [reference], [metadata])[0]

    def verify_batch(
        self,
        responses: Sequence[Text],
        references: Sequence[str],
        metadata: Sequence[Mapping[str, Any]] | None = None,
    ) -> list[VerifyResult]:
        """Verify responses[i] against references[i] with metadata[i] (default: empty)."""
        metadata = check_batch(responses, references, metadata)
        texts = [to_text(r) for r in responses]
        judgements = self.judge_batch(texts, [str(r) for r in references], [dict(m) for m in metadata])
        return [self.shaping.result(j) for j in judgements]

    def precheck(self, response: str) -> Judgement | None:
        """Cheap guard run in the caller's process before judging; a Judgement ends the row."""
        limit = self.options.max_response_chars
        if len(response) > limit:
            return Judgement(
                Reason.UNPARSEABLE, f"response has {len(response)} characters; max_response_chars is {limit}"
            )
        return None

    def check_reference(self, reference: str) -> Judgement | None:
        """Cheap guard on the reference, like `precheck` on the response; a Judgement ends the row."""
        limit = self.options.max_reference_chars
        if len(reference) > limit:
            return Judgement(
                Reason.ERROR, f"reference has {len(reference)} characters; max_reference_chars is {limit}"
            )
        return None

    def _guard(self, response: str, reference: str) -> Judgement | None:
        return self.check_reference(reference) or self.precheck(response)

    def judge_batch(
        self, responses: list[str], references: list[str], metadata: list[dict]
    ) -> list[Judgement]:
        """In-process judging; an exception in `judge` becomes an `error` result for that row only."""
        out = []
        for resp, ref, meta in zip(responses, references, metadata, strict=True):
            early = self._guard(resp, ref)
            if early is not None:
                out.append(early)
                continue
            try:
                out.append(self.judge(resp, ref, meta))
            except Exception as exc:  # one bad row must not lose the batch
                out.append(Judgement(Reason.ERROR, f"{type(exc).__name__} in judge: {short(str(exc))}"))
        return out

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for in-process verifiers
        """Release resources (worker processes). The verifier can not be used afterwards."""

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PooledVerifier(Verifier):
    """A verifier whose `judge` runs in the killable worker pool (`verifiers.pool.WorkerPool`).

    The worker rebuilds the verifier from its class path and options, so the class must be importable
    by name and `__init__` must not start anything. A judge that hangs is killed at `timeout` (reason
    timeout); one that crashes its process gives reason error; the pool replaces the worker.
    """

    Options: ClassVar[type[VerifierOptions]] = PoolOptions
    # Modules each worker imports before taking work, so import time never counts against a timeout.
    worker_preload: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._pool = None
        self._pool_lock = threading.Lock()

    def task_timeout(self) -> float:
        """Seconds the pool allows one `judge` call before killing the worker."""
        return float(self.options.timeout)

    @property
    def pool(self):
        """The worker pool, started on first use."""
        with self._pool_lock:
            if self._pool is None:
                from verifiers.pool import WorkerPool

                self._pool = WorkerPool(
                    workers=self.options.workers,
                    memory_mb=self.options.memory_mb,
                    preload=self.worker_preload,
                    name=self.name or type(self).__name__,
                )
            return self._pool

    def judge_batch(
        self, responses: list[str], references: list[str], metadata: list[dict]
    ) -> list[Judgement]:
        out: list[Judgement | None] = [
            self._guard(r, ref) for r, ref in zip(responses, references, strict=True)
        ]
        todo = [i for i, j in enumerate(out) if j is None]
        if todo:
            cls_path = f"{type(self).__module__}:{type(self).__qualname__}"
            opts = tuple(sorted(self.options.to_dict().items()))
            args = [(cls_path, opts, responses[i], references[i], metadata[i]) for i in todo]
            timeout = self.task_timeout()
            for i, res in zip(todo, self.pool.map(judge_in_worker, args, timeout=timeout), strict=True):
                if res.status == "ok":
                    out[i] = res.value
                elif res.status == "timeout":
                    out[i] = Judgement(Reason.TIMEOUT, f"no verdict within {timeout:g}s; worker killed")
                else:
                    out[i] = Judgement(Reason.ERROR, short(res.detail, 200))
        return out  # type: ignore[return-value]

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None


# Per worker process: one verifier instance per (class, options), built on first use.
_WORKER_VERIFIERS: dict[tuple[str, tuple], Verifier] = {}


def judge_in_worker(
    cls_path: str, options: tuple, response: str, reference: str, metadata: dict
) -> Judgement:
    """Runs inside a pool worker: rebuild (once) the verifier and judge one response."""
    key = (cls_path, options)
    verifier = _WORKER_VERIFIERS.get(key)
    if verifier is None:
        module, _, qualname = cls_path.partition(":")
        cls: Any = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        verifier = _WORKER_VERIFIERS[key] = cls(**dict(options))
    judgement = verifier.judge(response, reference, metadata)
    if not isinstance(judgement, Judgement):
        raise TypeError(f"{cls_path}.judge returned {type(judgement).__name__}; it must return a Judgement")
    return judgement
