"""Limits of the real `rlvr verifier serve` process: bodies refused before they are read or parsed
(the server's memory does not grow), bounded references, one status for malformed bodies, and slow
clients dropped after the read timeouts."""

from __future__ import annotations

import json
import select
import socket
import time

import httpx
import psutil
import pytest

MAX_BODY = 1 << 20  # --max-body-mb 1


@pytest.fixture(scope="module")
def server(start_server):
    return start_server(
        "--option",
        "workers=1",
        "--max-body-mb",
        "1",
        "--max-items",
        "50",
        "--header-timeout",
        "2",
        "--body-timeout",
        "3",
    )


def _rss(server) -> int:
    return psutil.Process(server.proc.pid).memory_info().rss


def _read_status(sock: socket.socket, within: float = 10.0) -> int:
    sock.settimeout(within)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else -1


def _connect(server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def _warm(server) -> None:
    r = httpx.post(
        server.url + "/v1/verify", json={"items": [{"response": r"\boxed{1}", "reference": "1"}]}, timeout=60
    )
    assert r.status_code == 200


def test_body_over_content_length_is_refused_unread(server):
    _warm(server)
    before = _rss(server)
    with _connect(server) as s:
        s.sendall(
            b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 52428800\r\n\r\n"
        )  # 50 MB announced, not a byte of it sent
        assert _read_status(s) == 413
    assert _rss(server) - before < 8 << 20


def test_streamed_body_is_cut_at_the_cap_without_memory_growth(server):
    _warm(server)
    before = _rss(server)
    chunk = b"x" * (64 << 10)
    sent = 0
    status = None
    with _connect(server) as s:
        s.sendall(
            b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        try:
            while sent < 50 << 20:  # offer 50 MB, chunked: no Content-Length to refuse by
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                if select.select([s], [], [], 0)[0]:
                    break  # the server answered
        except (BrokenPipeError, ConnectionResetError):
            pass  # it answered and closed while we were still sending
        status = _read_status(s)
    assert status == 413
    assert sent < 8 * MAX_BODY, sent  # the server stopped reading soon after the cap
    assert _rss(server) - before < 16 << 20


def test_too_many_items_is_413_before_validation(server):
    r = httpx.post(
        server.url + "/v1/verify", json={"items": [{"response": "a", "reference": "b"}] * 51}, timeout=30
    )
    assert r.status_code == 413 and "limit is 50" in r.json()["error"]


def test_every_malformed_body_is_422(server):
    def post(content):
        return httpx.post(
            server.url + "/v1/verify",
            content=content,
            headers={"content-type": "application/json"},
            timeout=30,
        )

    bodies = {
        "invalid utf-8": b'{"items": [{"response": "\xff\xfe", "reference": "1"}]}',
        "not json": b"{items: nope",
        "empty": b"",
        "null": b"null",
        "wrong shape": json.dumps({"items": [{"response": 1, "reference": "2"}]}).encode(),
        "unknown field": json.dumps({"items": [{"response": "a", "reference": "b", "colour": 1}]}).encode(),
    }
    for what, body in bodies.items():
        r = post(body)
        assert r.status_code == 422, (what, r.status_code, r.text[:200])
        assert r.json()["error"], what
    assert "not valid UTF-8" in post(bodies["invalid utf-8"]).json()["error"]


def test_long_reference_is_an_error_unread(server):
    reference = "1" * 20_000  # over max_reference_chars (10,000)
    start = time.monotonic()
    r = httpx.post(
        server.url + "/v1/verify",
        json={"items": [{"response": r"\boxed{1}", "reference": reference}]},
        timeout=60,
    )
    assert r.status_code == 200
    result = r.json()["results"][0]
    assert result["reason"] == "error" and result["score"] == 0.0
    assert result["detail"] == "reference has 20000 characters; max_reference_chars is 10000"
    assert time.monotonic() - start < 5


def test_slow_headers_are_dropped_after_the_header_timeout(server):
    socks = [_connect(server) for _ in range(50)]
    for s in socks:
        s.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\n")
        s.setblocking(False)
    start = time.monotonic()
    open_socks = set(socks)
    while open_socks and time.monotonic() - start < 10:
        for s in list(open_socks):
            try:
                if select.select([s], [], [], 0)[0] and s.recv(4096) == b"":
                    open_socks.discard(s)  # closed by the server
                    continue
                s.send(b"X")  # one byte of a header line, then the next, slowly: a slow-loris client
            except (BrokenPipeError, ConnectionResetError):
                open_socks.discard(s)
        time.sleep(0.5)
    elapsed = time.monotonic() - start
    for s in socks:
        s.close()
    assert not open_socks, f"{len(open_socks)} slow connections still open after {elapsed:.1f}s"
    assert elapsed < 2 + 3  # --header-timeout 2, plus slack
    assert httpx.get(server.url + "/v1/health", timeout=10).status_code == 200


def test_slow_body_gets_408_and_is_closed(server):
    with _connect(server) as s:
        s.sendall(
            b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        )
        start = time.monotonic()
        s.setblocking(False)
        answer = b""
        while time.monotonic() - start < 10:
            if select.select([s], [], [], 0.5)[0]:
                data = s.recv(4096)
                if not data:
                    break
                answer += data
                continue
            try:
                s.send(b" ")
            except (BrokenPipeError, ConnectionResetError):
                break
        elapsed = time.monotonic() - start
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert elapsed < 3 + 4, elapsed  # --body-timeout 3, then the connection is closed
