"""Fairness and visibility on the real `rlvr verifier serve` process: one client's 10,000-item batch
beside another client's single item, /v1/health turning `degraded` with the backlog, /metrics."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

N_BIG = 10_000


@pytest.fixture(scope="module")
def server(start_server):
    return start_server(
        "--option",
        "workers=2",
        "--option",
        "timeout=5",
        "--max-items",
        str(N_BIG),
        "--request-timeout",
        "300",
        "--degraded-after",
        "1",
    )


def _big_item(i: int) -> dict:
    """Mostly integers (judged without sympy, thousands a second), every tenth a polynomial identity
    (sympy, ~30 ms): the batch keeps both workers busy for seconds on any machine, so its backlog is
    observable, while the test stays short."""
    if i % 10 == 0:
        return {
            "response": rf"\boxed{{x^{{2}}+{2 * (i % 7)}x+{(i % 7) ** 2}}}",
            "reference": f"(x+{i % 5})^2",
        }
    return {"response": rf"\boxed{{{i % 7}}}", "reference": str(i % 5)}


def _other_peer() -> httpx.Client:
    # A second client: same loopback server, another source address (127.0.0.2), so another peer.
    return httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=60)


def _metrics(url: str) -> dict[str, float]:
    out = {}
    for family in text_string_to_metric_families(httpx.get(url + "/metrics", timeout=10).text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


def test_single_request_is_answered_beside_a_huge_batch_and_health_degrades(server):
    items = [_big_item(i) for i in range(N_BIG)]
    big: dict = {}

    def big_client() -> None:
        start = time.monotonic()
        r = httpx.post(server.url + "/v1/verify", json={"items": items}, timeout=600)
        big["status"], big["seconds"] = r.status_code, time.monotonic() - start
        big["results"] = r.json().get("results", [])

    t = threading.Thread(target=big_client)
    t.start()
    deadline = time.monotonic() + 60
    while httpx.get(server.url + "/v1/health", timeout=10).json()["backlog"]["pending"] < N_BIG // 2:
        assert time.monotonic() < deadline, "the big batch never queued"
        time.sleep(0.1)
    time.sleep(1.5)  # the oldest queued item is now older than --degraded-after 1
    health = httpx.get(server.url + "/v1/health", timeout=10).json()
    assert health["status"] == "degraded", health
    assert health["backlog"]["pending"] > 1000 and health["backlog"]["oldest_wait_s"] > 1, health
    assert health["pool"]["pending_by_client"].get("127.0.0.1", 0) > 1000, health["pool"]

    with _other_peer() as other:
        start = time.monotonic()
        r = other.post(
            server.url + "/v1/verify",
            json={"items": [{"response": r"\boxed{\frac{1}{2}}", "reference": "0.5"}]},
        )
        single = time.monotonic() - start
    left = (
        httpx.get(server.url + "/v1/health", timeout=10)
        .json()["pool"]["pending_by_client"]
        .get("127.0.0.1", 0)
    )
    assert r.status_code == 200 and r.json()["results"][0]["reason"] == "ok"
    # The whole big batch was queued before the single item: in one FIFO queue, none of it would be
    # left when the single item is answered.
    assert left > 500, left
    # Served with the next free worker, not after thousands of items (the big batch takes far longer).
    assert single < 5, single

    t.join(600)
    assert big["status"] == 200 and len(big["results"]) == N_BIG
    assert all(r["reason"] in ("ok", "wrong") for r in big["results"])
    assert big["seconds"] > 3 * single
    print(f"\nsingle item beside a {N_BIG}-item batch: {single:.2f}s; the batch: {big['seconds']:.1f}s")
    health = httpx.get(server.url + "/v1/health", timeout=10).json()
    assert health["status"] == "ok" and health["backlog"]["pending"] == 0, health


def test_metrics_count_requests_reasons_latency_and_the_queue(server):
    before = _metrics(server.url)
    rows = [(r"\boxed{2}", "2"), (r"\boxed{3}", "2"), ("none", "2")]
    r = httpx.post(
        server.url + "/v1/verify",
        timeout=60,
        json={"items": [{"response": a, "reference": b} for a, b in rows]},
    )
    assert r.status_code == 200
    assert httpx.post(server.url + "/v1/verify", content=b"nope", timeout=10).status_code == 422
    after = _metrics(server.url)

    def grew(key: str) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("rlvr_verifier_results_total{reason=ok}") == 1
    assert grew("rlvr_verifier_results_total{reason=wrong}") == 1
    assert grew("rlvr_verifier_results_total{reason=unparseable}") == 1
    assert grew("rlvr_verifier_requests_total{status=200}") == 1
    assert grew("rlvr_verifier_requests_total{status=422}") == 1
    assert grew("rlvr_verifier_request_seconds_count") == 2
    assert after["rlvr_verifier_queue_length"] == 0 and after["rlvr_verifier_workers"] == 2
    assert "rlvr_verifier_worker_restarts_total" in after and "rlvr_verifier_tasks_abandoned_total" in after
    assert after["rlvr_verifier_request_seconds_bucket{le=+Inf}"] >= 2
