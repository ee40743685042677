"""Verifier actors inside a Ray cluster, with the same `.verify` / `.verify_batch` as a local verifier.

The actor is a thin wrapper around `get_verifier(...)`: each actor owns a verifier (and its worker
pool, `workers` per actor, 1 by default), so the same code judges as in-process. Ray is imported lazily.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from verifiers.base import Text, check_batch, to_text
from verifiers.result import VerifyResult


class VerifierActor:
    """Plain class (works and is testable without Ray); `RayVerifierPool` runs it as an actor."""

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        from verifiers.registry import get_verifier

        self.verifier = get_verifier(name, **options)

    def verify_batch(self, responses: list[str], references: list[str], metadata: list[dict]) -> list[dict]:
        return [r.to_dict() for r in self.verifier.verify_batch(responses, references, metadata)]

    def ping(self) -> bool:
        return True

    def pid(self) -> int:
        """The process this actor lives in (a restart gives a new one)."""
        import os

        return os.getpid()


def _option_names(name: str) -> set[str]:
    from dataclasses import fields

    from verifiers.registry import verifier_class

    options = getattr(verifier_class(name), "Options", None)
    return {f.name for f in fields(options)} if options is not None else set()


class RayVerifierPool:
    """`num_actors` actors of verifier `name`; a batch is split into contiguous shares, one per actor.

    Call inside a connected Ray driver (`ray.init(...)` done). `actor_options` go to `.options()`
    (e.g. {"num_cpus": 1}); verifier `options` go to `get_verifier`.
    """

    def __init__(
        self,
        name: str,
        *,
        num_actors: int = 2,
        actor_options: dict[str, Any] | None = None,
        max_restarts: int = 2,
        **options: Any,
    ) -> None:
        import ray

        if not ray.is_initialized():
            raise RuntimeError("RayVerifierPool needs a Ray connection: call ray.init(...) first")
        self._ray = ray
        if "workers" in _option_names(name):  # pooled verifiers: one worker process per actor
            options.setdefault("workers", 1)
        # A dead actor (node lost, memory) is restarted by Ray with the same arguments, up to
        # max_restarts times in all; its share of the batch is sent again (verdicts are pure).
        self.max_restarts, self.restarts = max_restarts, 0
        remote = ray.remote(VerifierActor).options(
            **({"num_cpus": 1, "max_restarts": max_restarts} | (actor_options or {}))
        )
        self._actors = [remote.remote(name, options) for _ in range(max(1, num_actors))]
        try:
            ray.get([a.ping.remote() for a in self._actors])  # surface construction errors (bad options) here
        except Exception:
            self.close()
            raise

    def verify(self, response: Text, reference: str, **metadata: Any) -> VerifyResult:
        return self.verify_batch([response], [reference], [metadata])[0]

    def verify_batch(
        self,
        responses: Sequence[Text],
        references: Sequence[str],
        metadata: Sequence[Mapping[str, Any]] | None = None,
    ) -> list[VerifyResult]:
        metadata = check_batch(responses, references, metadata)
        texts = [to_text(r) for r in responses]
        n = len(texts)
        share = -(-n // len(self._actors)) if n else 0
        shares = {}
        for k, actor in enumerate(self._actors):
            lo, hi = k * share, min(n, (k + 1) * share)
            if lo < hi:
                args = (texts[lo:hi], list(references[lo:hi]), [dict(m) for m in metadata[lo:hi]])
                shares[k] = (args, actor.verify_batch.remote(*args))
        out = []
        for k, (args, ref) in shares.items():
            while True:
                try:
                    out.extend(VerifyResult.from_dict(d) for d in self._ray.get(ref))
                    break
                except (self._ray.exceptions.RayActorError, self._ray.exceptions.ActorUnavailableError):
                    self.restarts += 1
                    if self.restarts > self.max_restarts:
                        raise
                    self._wait_until_back(k)
                    ref = self._actors[k].verify_batch.remote(*args)
        return out

    def _wait_until_back(self, k: int, timeout_s: float = 300.0) -> None:
        """Calls to a restarting actor fail at once: poll its ping until Ray has it back."""
        import time

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._ray.get(self._actors[k].ping.remote())
                return
            except (self._ray.exceptions.RayActorError, self._ray.exceptions.ActorUnavailableError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def close(self) -> None:
        for actor in self._actors:
            self._ray.kill(actor)
        self._actors = []

    def __enter__(self) -> RayVerifierPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
