"""The HTTP verifier service: FastAPI app around one verifier (its worker pool does the work).

Endpoints (JSON unless said otherwise):
  POST /v1/verify  {"items": [{"response": str, "reference": str, "metadata": {...}}]}
                   -> 200 {"results": [{"score", "correct", "reason", "detail"}]} in item order
                   401 missing or wrong bearer token (when the server has tokens)
                   408 body not received within body_timeout
                   413 body over max_body_bytes (by Content-Length, or while streaming) or more
                       than max_items items
                   422 any malformed body: not UTF-8, not JSON, not the shape above
                   503 busy (no concurrency slot within request_timeout)
                   504 request timeout: its queued work is dropped, busy workers are replaced
                   Bad input never yields 500. A client that hangs up has its work cancelled too.
  GET  /v1/health  -> {"status": "ok"|"degraded", "verifier", "options", "pool", "backlog"}
                   (no token needed: load balancers probe it). "degraded": the oldest queued task
                   or waiting request is older than degraded_after seconds.
  GET  /metrics    Prometheus text format (token needed when the server has tokens).

Fairness: each client (its token when the server has several, plus its address) holds at most
max_concurrency_per_client of the max_concurrency batches in progress, and the worker pool serves
the queued items of different clients round-robin.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from verifiers.base import to_text
from verifiers.fair_queue import WorkScope
from verifiers.service.http_guard import BearerAuth, RequestRefused, read_body
from verifiers.service.http_metrics import CONTENT_TYPE, ServiceMetrics


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    response: StrictStr
    reference: StrictStr
    metadata: dict[str, Any] = Field(default_factory=dict)


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[Item]


def _safe_json(status: int, body: dict[str, Any], *, close: bool = False) -> JSONResponse:
    # ensure_ascii: a lone surrogate echoed from the input must not crash the encoder (a 500).
    headers = {"connection": "close"} if close else None
    return JSONResponse(
        status_code=status,
        content=json.loads(json.dumps(body, ensure_ascii=True, default=str)),
        headers=headers,
    )


def parse_request(body: bytes, max_items: int) -> VerifyRequest:
    """Body bytes -> VerifyRequest; RequestRefused 422 for anything malformed, 413 for too many items.
    The item count is checked on the parsed JSON, before validating (and copying) every item."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestRefused(422, f"body is not valid UTF-8 (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestRefused(422, f"body is not JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("items"), list) and len(data["items"]) > max_items:
        raise RequestRefused(
            413, f"{len(data['items'])} items in one request; the limit is {max_items}: split the batch"
        )
    try:
        return VerifyRequest.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"loc": list(map(str, e.get("loc", ()))), "msg": str(e.get("msg", ""))} for e in exc.errors()
        ]
        raise RequestRefused(422, json.dumps({"malformed request": errors[:20]}, ensure_ascii=True)) from None


class _NoSlot(Exception):
    """The client's share of the concurrency slots stayed taken for the whole request timeout."""


class _ClientSlots:
    """At most `limit` batches in progress per client; waiting clients queue on their own semaphore."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def hold(self, client: str, timeout: float) -> AsyncIterator[None]:
        sem, users = self._slots.get(client, (asyncio.Semaphore(self.limit), 0))
        self._slots[client] = (sem, users + 1)
        try:
            try:
                await asyncio.wait_for(sem.acquire(), timeout=timeout)
            except asyncio.TimeoutError:
                raise _NoSlot from None
            try:
                yield
            finally:
                sem.release()
        finally:
            sem, users = self._slots[client]
            if users == 1:
                del self._slots[client]  # forget idle clients: addresses must not pile up
            else:
                self._slots[client] = (sem, users - 1)


async def _wait_disconnect(request: Request) -> None:
    """Returns when the client hangs up (the body was already read, so only a disconnect is left)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def create_app(
    verifier: Any,
    *,
    name: str = "",
    max_concurrency: int = 8,
    request_timeout: float = 120.0,
    max_items: int = 4096,
    max_body_bytes: int = 32 << 20,
    body_timeout: float = 30.0,
    tokens: Sequence[str] = (),
    max_concurrency_per_client: int | None = None,
    degraded_after: float = 30.0,
) -> FastAPI:
    """An app serving `verifier` (anything with `.verify_batch`).

    max_concurrency:   batches judged at once; others wait (up to request_timeout, then 503).
    max_concurrency_per_client: of those, most held by one client (default half, at least 1).
    request_timeout:   seconds per request from arrival to answer (504 past it; its work is cancelled).
    max_items:         most items per request (413 beyond).
    max_body_bytes:    largest request body (413 beyond, refused before parsing).
    body_timeout:      seconds to receive a request body (408 past it).
    tokens:            bearer tokens accepted (none: no authentication; `serve` requires them off loopback).
    degraded_after:    /v1/health says "degraded" when queued work is older than this (seconds).
    """
    per_client = max_concurrency_per_client or max(1, max_concurrency // 2)
    semaphore = asyncio.Semaphore(max_concurrency)
    client_slots = _ClientSlots(per_client)
    # Own executor: a timed-out request must not block the event loop's default thread pool.
    executor = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="verify")
    waiting: dict[int, float] = {}  # requests waiting for a slot -> arrival time (for health)
    pool_stats = lambda: getattr(verifier, "_pool", None) and verifier._pool.stats()  # noqa: E731
    metrics = ServiceMetrics(pool_stats)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title=f"rlvr verifier {name}".strip(), lifespan=lifespan)
    if tokens:
        app.add_middleware(
            BearerAuth,
            tokens=list(tokens),
            open_paths=["/v1/health"],
            on_refused=lambda: metrics.requests.labels("401").inc(),
        )

    def backlog() -> dict[str, Any]:
        stats = pool_stats() or {}
        now = time.monotonic()
        oldest_request = max((now - t for t in waiting.values()), default=0.0)
        return {
            "pending": stats.get("pending", 0),
            "oldest_wait_s": stats.get("oldest_wait_s", 0.0),
            "waiting_requests": len(waiting),
            "oldest_request_wait_s": round(oldest_request, 3),
        }

    @app.get("/v1/health")
    async def health() -> JSONResponse:
        options = getattr(verifier, "options", None)
        lag = backlog()
        degraded = max(lag["oldest_wait_s"], lag["oldest_request_wait_s"]) > degraded_after
        return _safe_json(
            200,
            {
                "status": "degraded" if degraded else "ok",
                "verifier": name,
                "options": options.to_dict() if hasattr(options, "to_dict") else {},
                "pool": pool_stats(),
                "backlog": lag | {"degraded_after_s": degraded_after},
            },
        )

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.post("/v1/verify")
    async def verify(request: Request) -> Response:
        start = time.monotonic()
        response = await _verify(request, start)
        metrics.requests.labels(str(response.status_code) if response is not None else "client_closed").inc()
        metrics.latency.observe(time.monotonic() - start)
        return response if response is not None else Response(status_code=499)

    async def _verify(request: Request, start: float) -> Response | None:
        try:
            body = await read_body(request, max_bytes=max_body_bytes, timeout=body_timeout)
            items = parse_request(body, max_items).items
        except RequestRefused as exc:
            return _safe_json(exc.status, {"error": exc.message}, close=True)
        del body
        metrics.items.observe(len(items))
        label = getattr(request.state, "token_label", "")
        peer = request.client.host if request.client else "?"
        scope = WorkScope(f"{label}@{peer}" if label else peer)
        work = asyncio.ensure_future(_judge(scope, items, start))
        gone = asyncio.ensure_future(_wait_disconnect(request))
        remaining = max(0.001, request_timeout - (time.monotonic() - start))
        done, _ = await asyncio.wait({work, gone}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        gone.cancel()
        if work in done:
            return work.result()
        # Timed out, or the client hung up: nobody will read these results, so free the workers.
        work.cancel()
        scope.cancel()
        if gone in done:
            return None
        return _safe_json(
            504,
            {
                "error": f"request took longer than {request_timeout:g}s; send smaller batches "
                "(its queued work was dropped)"
            },
        )

    async def _judge(scope: WorkScope, items: list[Item], start: float) -> Response:
        key = id(scope)
        waiting[key] = start
        busy = _safe_json(
            503,
            {
                "error": f"server busy: {max_concurrency} batches in progress "
                f"(at most {per_client} per client); retry later"
            },
        )
        try:
            async with client_slots.hold(scope.client, timeout=request_timeout):
                remaining = max(0.001, request_timeout - (time.monotonic() - start))
                try:
                    await asyncio.wait_for(semaphore.acquire(), timeout=remaining)
                except asyncio.TimeoutError:
                    return busy
                waiting.pop(key, None)
                try:
                    return await _run(scope, items)
                finally:
                    semaphore.release()
        except _NoSlot:
            return busy
        finally:
            waiting.pop(key, None)

    async def _run(scope: WorkScope, items: list[Item]) -> Response:
        responses = [to_text(it.response) for it in items]
        references = [to_text(it.reference) for it in items]
        metadata = [it.metadata for it in items]

        def run() -> list[Any]:
            with scope:  # the pool tags this thread's tasks with the client and can cancel them
                return verifier.verify_batch(responses, references, metadata)

        try:
            results = await asyncio.get_running_loop().run_in_executor(executor, run)
        except (TypeError, ValueError) as exc:  # the verifier rejected an input (e.g. bad metadata type)
            return _safe_json(422, {"error": f"{type(exc).__name__}: {exc}"})
        for r in results:
            metrics.results.labels(str(r.reason)).inc()
        return _safe_json(200, {"results": [r.to_dict() for r in results]})

    return app


def serve(
    name: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    options: dict[str, Any] | None = None,
    max_concurrency: int = 8,
    request_timeout: float = 120.0,
    max_items: int = 4096,
    max_body_bytes: int = 32 << 20,
    body_timeout: float = 30.0,
    header_timeout: float = 10.0,
    tokens: Sequence[str] | None = None,
    max_concurrency_per_client: int | None = None,
    degraded_after: float = 30.0,
    log_level: str = "warning",
) -> None:
    """Build verifier `name` with `options` and serve it until interrupted (blocks).

    tokens: accepted bearer tokens; when none are given, the environment variable RLVR_VERIFIER_TOKEN
    (comma-separated) is read. Binding beyond loopback without a token raises ValueError: anyone who
    reaches the port could otherwise use the workers.
    """
    import os

    import uvicorn
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    from verifiers.registry import get_verifier
    from verifiers.service.http_guard import TOKEN_ENV, is_loopback, parse_tokens, read_deadline_protocol

    accepted = parse_tokens(tokens) or parse_tokens(os.environ.get(TOKEN_ENV))
    if not accepted and not is_loopback(host):
        raise ValueError(
            f"refusing to serve on {host} without authentication: anyone who reaches the port could "
            f"use the workers. Set {TOKEN_ENV}=<secret> (or --token), or bind to 127.0.0.1"
        )
    for what, value in (
        ("header_timeout", header_timeout),
        ("body_timeout", body_timeout),
        ("request_timeout", request_timeout),
    ):
        if not value > 0:
            raise ValueError(f"{what} must be > 0 seconds, got {value}")
    if max_body_bytes < 1 or max_items < 1 or max_concurrency < 1:
        raise ValueError("max_body_bytes, max_items and max_concurrency must be >= 1")
    verifier = get_verifier(name, **(options or {}))
    pool = getattr(verifier, "pool", None)  # PooledVerifier: starts its workers
    if pool is not None and hasattr(pool, "wait_ready"):
        # Start the workers before accepting requests, so the first request does not pay for their imports.
        pool.wait_ready(120)
    app = create_app(
        verifier,
        name=name,
        max_concurrency=max_concurrency,
        request_timeout=request_timeout,
        max_items=max_items,
        max_body_bytes=max_body_bytes,
        body_timeout=body_timeout,
        tokens=accepted,
        max_concurrency_per_client=max_concurrency_per_client,
        degraded_after=degraded_after,
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        http=read_deadline_protocol(AutoHTTPProtocol, header_timeout),
    )
    try:
        uvicorn.Server(config).run()
    finally:
        verifier.close()
