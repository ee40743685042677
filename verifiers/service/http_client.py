"""Client of the HTTP verifier service, with the same `.verify` / `.verify_batch` as a local verifier."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from verifiers.base import Text, check_batch, to_text
from verifiers.result import VerifyResult

_RETRY_STATUS = {502, 503, 504}


class VerifierServiceError(RuntimeError):
    """The service could not verify a batch (after retries). Raised, never turned into zero rewards:
    a silent reward of 0 for every row would quietly ruin a training run."""


class VerifierAuthError(VerifierServiceError):
    """The service refused the bearer token (HTTP 401): retrying can not help."""


class HttpVerifier:
    """Talks to `rlvr verifier serve`.

    url:        the server's base URL, e.g. "http://127.0.0.1:8000".
    timeout:    seconds per HTTP request (connect, read, write).
    retries:    extra attempts after a connection error, timeout or 502/503/504 (backoff doubles).
    batch_size: items per request; a large batch is sent as several requests.
    token:      bearer token of a server started with one; default: the RLVR_VERIFIER_TOKEN environment
                variable (so `rlvr train` in http mode needs no token in its recipe).
    4xx answers are not retried: they mean the input is wrong, and raise ValueError with the server's
    message; 401 raises VerifierAuthError.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 120.0,
        retries: int = 3,
        backoff: float = 0.5,
        batch_size: int = 512,
        token: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self.batch_size = batch_size
        token = (
            token if token is not None else os.environ.get("RLVR_VERIFIER_TOKEN", "").split(",")[0].strip()
        )
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(base_url=self.url, timeout=timeout, headers=headers)

    def health(self) -> dict[str, Any]:
        r = self._client.get("/v1/health")
        r.raise_for_status()
        return r.json()

    def verify(self, response: Text, reference: str, **metadata: Any) -> VerifyResult:
        return self.verify_batch([response], [reference], [metadata])[0]

    def verify_batch(
        self,
        responses: Sequence[Text],
        references: Sequence[str],
        metadata: Sequence[Mapping[str, Any]] | None = None,
    ) -> list[VerifyResult]:
        metadata = check_batch(responses, references, metadata)
        # Clean text here: JSON can not carry raw bytes, and lone surrogates are not valid UTF-8.
        items = [
            {"response": to_text(r), "reference": to_text(ref), "metadata": dict(m)}
            for r, ref, m in zip(responses, references, metadata, strict=True)
        ]
        out: list[VerifyResult] = []
        for i in range(0, len(items), self.batch_size):
            out += self._post(items[i : i + self.batch_size])
        return out

    def _post(self, items: list[dict[str, Any]]) -> list[VerifyResult]:
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                r = self._client.post("/v1/verify", json={"items": items})
            except httpx.TransportError as exc:  # connect errors, timeouts, dropped connections
                last = f"{type(exc).__name__}: {exc}"
                continue
            if r.status_code in _RETRY_STATUS:
                last = f"HTTP {r.status_code}: {r.text[:200]}"
                continue
            if r.status_code == 401:
                raise VerifierAuthError(
                    f"verifier service at {self.url} refused the token: {r.text[:200]} "
                    "(pass token= or set RLVR_VERIFIER_TOKEN to one of the server's tokens)"
                )
            if 400 <= r.status_code < 500:
                raise ValueError(
                    f"verifier service rejected the request (HTTP {r.status_code}): {r.text[:500]}"
                )
            if r.status_code != 200:
                last = f"HTTP {r.status_code}: {r.text[:200]}"
                continue
            results = [VerifyResult.from_dict(d) for d in r.json()["results"]]
            if len(results) != len(items):
                raise VerifierServiceError(
                    f"sent {len(items)} items, got {len(results)} results from {self.url}"
                )
            return results
        raise VerifierServiceError(
            f"verifier service at {self.url} failed after {self.retries + 1} attempts: {last}"
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
