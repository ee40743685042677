"""The HTTP verifier service: FastAPI app around one verifier (its worker pool does the work).

Endpoints (JSON):
  POST /v1/verify  {"items": [{"response": str, "reference": str, "metadata": {...}}]}
                   -> 200 {"results": [{"score", "correct", "reason", "detail"}]} in item order
                   422 malformed body, 413 too many items, 503 busy (concurrency limit, waited too
                   long), 504 request timeout. Bad input never yields 500.
  GET  /v1/health  -> {"status": "ok", "verifier": NAME, "options": {...}, "pool": {...}}
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from verifiers.base import to_text


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    response: StrictStr
    reference: StrictStr
    metadata: dict[str, Any] = Field(default_factory=dict)


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[Item]


def _safe_json(status: int, body: dict[str, Any]) -> JSONResponse:
    # ensure_ascii: a lone surrogate echoed from the input must not crash the encoder (a 500).
    return JSONResponse(status_code=status, content=json.loads(json.dumps(body, ensure_ascii=True, default=str)))


def create_app(verifier: Any, *, name: str = "", max_concurrency: int = 8, request_timeout: float = 120.0,
               max_items: int = 4096) -> FastAPI:
    """An app serving `verifier` (anything with `.verify_batch`).

    max_concurrency: batches judged at once; others wait (up to request_timeout, then 503).
    request_timeout: seconds per request from arrival to answer (504 past it).
    max_items:       most items per request (413 beyond).
    """
    app = FastAPI(title=f"rlvr verifier {name}".strip())
    semaphore = asyncio.Semaphore(max_concurrency)
    # Own executor: a timed-out request must not block the event loop's default thread pool.
    executor = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="verify")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(map(str, e.get("loc", ()))), "msg": str(e.get("msg", ""))} for e in exc.errors()]
        return _safe_json(422, {"error": "malformed request", "errors": errors[:20]})

    @app.get("/v1/health")
    async def health() -> JSONResponse:
        pool = getattr(verifier, "_pool", None)
        options = getattr(verifier, "options", None)
        return _safe_json(200, {
            "status": "ok",
            "verifier": name,
            "options": options.to_dict() if hasattr(options, "to_dict") else {},
            "pool": pool.stats() if pool is not None else None,
        })

    @app.post("/v1/verify")
    async def verify(body: VerifyRequest) -> JSONResponse:
        items = body.items
        if len(items) > max_items:
            return _safe_json(413, {"error": f"{len(items)} items in one request; the limit is {max_items}: split the batch"})
        start = time.monotonic()
        try:
            await asyncio.wait_for(semaphore.acquire(), timeout=request_timeout)
        except asyncio.TimeoutError:
            return _safe_json(503, {"error": f"server busy: {max_concurrency} batches in progress; retry later"})
        try:
            responses = [to_text(it.response) for it in items]
            references = [to_text(it.reference) for it in items]
            metadata = [it.metadata for it in items]
            loop = asyncio.get_running_loop()
            job = loop.run_in_executor(executor, verifier.verify_batch, responses, references, metadata)
            remaining = max(0.001, request_timeout - (time.monotonic() - start))
            try:
                results = await asyncio.wait_for(job, timeout=remaining)
            except asyncio.TimeoutError:
                return _safe_json(504, {"error": f"request took longer than {request_timeout:g}s; send smaller batches"})
            except (TypeError, ValueError) as exc:  # the verifier rejected an input (e.g. bad metadata type)
                return _safe_json(422, {"error": f"{type(exc).__name__}: {exc}"})
        finally:
            semaphore.release()
        return _safe_json(200, {"results": [r.to_dict() for r in results]})

    @app.on_event("shutdown")
    def _shutdown() -> None:
        executor.shutdown(wait=False, cancel_futures=True)

    return app


def serve(name: str, *, host: str = "127.0.0.1", port: int = 8000, options: dict[str, Any] | None = None,
          max_concurrency: int = 8, request_timeout: float = 120.0, max_items: int = 4096,
          log_level: str = "warning") -> None:
    """Build verifier `name` with `options` and serve it until interrupted (blocks)."""
    import uvicorn

    from verifiers.registry import get_verifier

    verifier = get_verifier(name, **(options or {}))
    app = create_app(verifier, name=name, max_concurrency=max_concurrency, request_timeout=request_timeout,
                     max_items=max_items)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
    finally:
        verifier.close()
