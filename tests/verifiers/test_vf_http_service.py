"""The HTTP service on loopback: bounded load (with a token, beside a hostile client) equals in-process
results; bad input gets 4xx, never 500."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from vf_hostile import HostileClient
from vf_server import free_port

from verifiers.service.http_client import HttpVerifier, VerifierServiceError

LOAD_TOKEN, HOSTILE_TOKEN = "load-token", "hostile-token"
ROWS = [(rf"\boxed{{{i % 7}}}", str(i % 5)) for i in range(20)] + [
    (r"so \boxed{\frac{1}{2}}", "0.5"),
    ("The answer is 4.", "4"),
    ("no answer", "1"),
    (r"\boxed{1} \boxed{2}", "2"),
    (r"\boxed{\{1,2\}}", r"\{2,1\}"),
    (r"\boxed{\frac{1}{2}", "0.5"),
    ("\ufffd bytes \\boxed{3}", "3"),
]


@pytest.fixture(scope="module")
def server(start_server):
    return start_server(
        "--option",
        "workers=2",
        "--option",
        "timeout=5",
        "--max-concurrency",
        "8",
        "--max-items",
        "100",
        "--request-timeout",
        "2",
    ).url


@pytest.fixture(scope="module")
def token_server(start_server):
    return start_server(
        "--option",
        "workers=2",
        "--option",
        "timeout=5",
        "--max-concurrency",
        "8",
        "--request-timeout",
        "60",
        "--header-timeout",
        "2",
        env={"RLVR_VERIFIER_TOKEN": f"{LOAD_TOKEN},{HOSTILE_TOKEN}"},
    )


@pytest.mark.slow
def test_load_with_token_and_a_hostile_client_loses_nothing(token_server, math_verifier):
    expected = [r.to_dict() for r in math_verifier.verify_batch([r for r, _ in ROWS], [g for _, g in ROWS])]
    n_requests, concurrency = 5000, 32
    hostile = HostileClient(token_server.url, token_server.port, HOSTILE_TOKEN).start()
    try:
        with HttpVerifier(token_server.url, timeout=60, retries=2, token=LOAD_TOKEN) as client:
            assert client.health()["verifier"] == "math"

            def one(k: int):
                response, reference = ROWS[k % len(ROWS)]
                t0 = time.monotonic()
                result = client.verify(response, reference).to_dict()
                return k, result, time.monotonic() - t0

            start = time.monotonic()
            with ThreadPoolExecutor(concurrency) as ex:
                got = list(ex.map(one, range(n_requests)))
            elapsed = time.monotonic() - start
            batch = client.verify_batch([r for r, _ in ROWS] * 3, [g for _, g in ROWS] * 3)
    finally:
        statuses = hostile.stop()
    assert len(got) == n_requests
    mismatches = [(k, d) for k, d, _ in got if d != expected[k % len(ROWS)]]
    assert not mismatches, mismatches[:3]
    assert [r.to_dict() for r in batch] == expected * 3
    # The hostile client really was at it, and got refusals, never a server error.
    assert statuses["bombs abandoned"] >= 1 and statuses["401"] >= 1 and statuses["422"] >= 1, statuses
    assert statuses["413"] >= 1 and statuses["slow connections opened"] >= 5, statuses
    assert hostile.server_errors() == 0, statuses
    health = httpx.get(token_server.url + "/v1/health", timeout=10).json()
    assert health["pool"]["abandoned"] >= 1, health
    latencies = sorted(t for _, _, t in got)
    print(
        f"\n{n_requests} requests at concurrency {concurrency} with a token, beside a hostile client: "
        f"{elapsed:.1f}s ({n_requests / elapsed:.0f} req/s), latency p50 {latencies[len(latencies) // 2]:.3f}s "
        f"p99 {latencies[int(len(latencies) * 0.99)]:.3f}s; hostile: {dict(statuses)}"
    )


def test_malformed_requests_get_4xx(server):
    post = lambda **kw: httpx.post(server + "/v1/verify", timeout=30, **kw)  # noqa: E731
    cases = {
        "not json": post(content=b"{items: nope", headers={"content-type": "application/json"}),
        "invalid utf-8": post(
            content=b'{"items": [{"response": "\xff\xfe", "reference": "1"}]}',
            headers={"content-type": "application/json"},
        ),
        "items not a list": post(json={"items": "x"}),
        "response not a string": post(json={"items": [{"response": 1, "reference": "2"}]}),
        "missing reference": post(
            content=json.dumps({"items": [{"response": "\udcff"}]}).encode(),
            headers={"content-type": "application/json"},
        ),
        "metadata not an object": post(
            json={"items": [{"response": "a", "reference": "b", "metadata": [1]}]}
        ),
        "unknown field": post(json={"items": [{"response": "a", "reference": "b", "colour": 1}]}),
        "empty body": post(content=b""),
        "json null": post(json=None, content=b"null", headers={"content-type": "application/json"}),
        "too many items": post(json={"items": [{"response": "a", "reference": "b"}] * 101}),
    }
    for name, r in cases.items():
        # Every malformed body is 422 (as documented), whatever the layer that finds the fault.
        assert r.status_code == (413 if name == "too many items" else 422), (
            name,
            r.status_code,
            r.text[:200],
        )
    assert httpx.get(server + "/v1/verify").status_code == 405
    # A lone surrogate is valid JSON; the service cleans it like any other text.
    ok = post(
        content=json.dumps({"items": [{"response": "\udcff \\boxed{3}", "reference": "3"}]}).encode(),
        headers={"content-type": "application/json"},
    )
    assert ok.status_code == 200 and ok.json()["results"][0]["reason"] == "ok"


def test_request_timeout_is_504_and_client_raises(server):
    r = httpx.post(
        server + "/v1/verify",
        json={"items": [{"response": r"\boxed{9^{9^{9^9}}}", "reference": "1"}]},
        timeout=30,
    )
    assert r.status_code == 504 and "longer than 2s" in r.json()["error"]
    with HttpVerifier(server, retries=0) as client, pytest.raises(VerifierServiceError, match="HTTP 504"):
        client.verify(r"\boxed{(10^{10})!}", "1")
    with HttpVerifier(server) as client, pytest.raises(ValueError, match="HTTP 422"):
        client._post([{"response": 1}])  # the client validates nothing itself: the server's 422 surfaces


def test_client_retries_then_raises_on_dead_server():
    with HttpVerifier(f"http://127.0.0.1:{free_port()}", retries=2, backoff=0.01, timeout=2) as client:
        start = time.monotonic()
        with pytest.raises(VerifierServiceError, match="after 3 attempts"):
            client.verify("x", "y")
        assert time.monotonic() - start < 10


def test_health(server):
    body = httpx.get(server + "/v1/health").json()
    assert body["status"] == "ok" and body["verifier"] == "math" and body["options"]["workers"] == 2
