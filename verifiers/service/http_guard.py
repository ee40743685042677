"""What stands between the network and the verifier: token check, read deadlines, a bounded body.

Each guard acts before anything costly happens: a request without the token is refused before its
body is read; a body is refused by its Content-Length, or as soon as the bytes read pass the cap,
before any JSON parsing; a connection that does not deliver its request headers in time is closed
by the protocol itself (uvicorn has no header timeout of its own, and its keep-alive timer is
reset by every byte, so a client sending one byte a second would hold a connection forever).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

TOKEN_ENV = "RLVR_VERIFIER_TOKEN"


class RequestRefused(Exception):
    """Ends a request with `status` and a JSON {"error": message}; the connection is closed after it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, "localhost")."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything, so treat it as reachable


def parse_tokens(values: Sequence[str] | str | None) -> list[str]:
    """Tokens from `--token` values or the environment variable (comma-separated, blanks dropped)."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [t.strip() for v in values for t in v.split(",") if t.strip()]


class BearerAuth:
    """ASGI middleware: requests (except to `open_paths`) need `Authorization: Bearer <one of tokens>`.

    The caller's token is stored as `scope["state"]["token_label"]` ("token1", "token2", ... never
    the token itself), so each token can be a client of its own for fair queueing and metrics.
    """

    def __init__(
        self,
        app: Any,
        tokens: Sequence[str],
        *,
        open_paths: Sequence[str] = (),
        on_refused: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.tokens = [t.encode() for t in tokens]
        self.open_paths = set(open_paths)
        self.on_refused = on_refused

    def label_of(self, header: bytes) -> str | None:
        scheme, _, given = header.partition(b" ")
        if scheme.lower() != b"bearer" or not given.strip():
            return None
        given = given.strip()
        found = None
        for i, token in enumerate(self.tokens, start=1):
            # Compare with every token, in constant time: timing must not reveal a prefix or which one.
            if hmac.compare_digest(given, token):
                found = f"token{i}"
        return found

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or not self.tokens or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        label = self.label_of(header)
        if label is None:
            if self.on_refused is not None:
                self.on_refused()
            why = "missing bearer token" if not header else "wrong bearer token"
            await send_json(
                send,
                401,
                {"error": f"{why}: send 'Authorization: Bearer <token>' (HttpVerifier reads {TOKEN_ENV})"},
                extra=[(b"www-authenticate", b"Bearer")],
            )
            return
        scope.setdefault("state", {})["token_label"] = label
        await self.app(scope, receive, send)


async def send_json(
    send: Callable[[dict], Awaitable[None]],
    status: int,
    body: dict[str, Any],
    extra: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """A complete JSON response from raw ASGI, closing the connection (its body may be unread)."""
    data = json.dumps(body, ensure_ascii=True).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"connection", b"close"),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def read_body(request: Any, *, max_bytes: int, timeout: float) -> bytes:
    """The request body, refused (RequestRefused) past `max_bytes` (413) or `timeout` seconds (408).

    The Content-Length check refuses a large body before a byte of it is read; the running count
    refuses a chunked or lying body as soon as it passes the cap, so memory never holds more than
    about `max_bytes`.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise RequestRefused(400, f"Content-Length {declared[:40]!r} is not a number") from None
        if size > max_bytes:
            raise RequestRefused(413, f"body of {size} bytes; the limit is {max_bytes}: send smaller batches")
    chunks: list[bytes] = []
    total = 0
    deadline = time.monotonic() + timeout
    stream = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), max(0.0, deadline - time.monotonic()))
        except StopAsyncIteration:
            break
        except asyncio.TimeoutError:
            raise RequestRefused(408, f"request body not received within {timeout:g}s") from None
        total += len(chunk)
        if total > max_bytes:
            raise RequestRefused(413, f"body larger than {max_bytes} bytes: send smaller batches")
        chunks.append(chunk)
    return b"".join(chunks)


def read_deadline_protocol(base: type, header_timeout: float) -> type:
    """A subclass of uvicorn's HTTP protocol `base` that closes a connection whose next request's
    headers are not complete within `header_timeout` seconds (from connect, or from the end of the
    previous response). Works with uvicorn's h11 and httptools protocols: both create `self.cycle`
    when a request's headers are complete and call `on_response_complete` after each response."""

    class ReadDeadlineProtocol(base):  # type: ignore[misc, valid-type]
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            before = self.cycle
            super().data_received(data)
            if self.cycle is not before:  # a request's headers are complete
                self._disarm()

        def on_response_complete(self) -> None:
            before = self.cycle
            super().on_response_complete()
            if self.cycle is before and not self.transport.is_closing():
                self._arm()  # the next request on this connection gets the same deadline

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(header_timeout, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    ReadDeadlineProtocol.__name__ = f"ReadDeadline{base.__name__}"
    return ReadDeadlineProtocol
