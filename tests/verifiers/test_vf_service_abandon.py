"""Abandoned work is cancelled: a client that hangs up, or a request past the server's timeout, frees
the workers at once instead of leaving them on the backlog (real `rlvr verifier serve` process)."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

BOMB = r"\boxed{9^{9^{9^{9^{9}}}}}"  # sympy tries to evaluate the tower: it runs into the 30 s timeout
ORDINARY = {"items": [{"response": r"so \boxed{\frac{1}{2}}", "reference": "0.5"}]}


@pytest.fixture(scope="module")
def server(start_server):
    # 2 workers, 30 s per item: 8 bombs left to run would hold both workers for 2 minutes.
    # A request may take 15 s: enough for a worker restart on a loaded 2-core machine (~2 s idle, ~7 s
    # at load 14), far below the backlog the bombs would leave.
    return start_server("--option", "workers=2", "--option", "timeout=30", "--request-timeout", "15")


def _pool(url: str) -> dict:
    return httpx.get(url + "/v1/health", timeout=10).json()["pool"]


def _wait_busy(url: str, n: int, within: float) -> None:
    deadline = time.monotonic() + within
    while _pool(url)["busy"] < n:
        assert time.monotonic() < deadline, f"the bombs never occupied {n} workers: {_pool(url)}"
        time.sleep(0.1)


def _ordinary_latency(url: str) -> float:
    start = time.monotonic()
    r = httpx.post(url + "/v1/verify", json=ORDINARY, timeout=120)
    assert r.status_code == 200 and r.json()["results"][0]["reason"] == "ok", r.text
    return time.monotonic() - start


def _bombs(n: int) -> dict:
    return {"items": [{"response": BOMB, "reference": "1"}] * n}


def test_client_hanging_up_frees_the_workers(server):
    base = _ordinary_latency(server.url)
    before = _pool(server.url)

    def hostile() -> None:
        with httpx.Client(timeout=3.0) as c, pytest.raises(httpx.ReadTimeout):
            c.post(server.url + "/v1/verify", json=_bombs(8))  # hangs up after 3 s

    t = threading.Thread(target=hostile)
    t.start()
    _wait_busy(server.url, 2, within=10)  # precondition: the bombs really do occupy both workers
    t.join(30)
    latency = _ordinary_latency(server.url)
    after = _pool(server.url)
    # Without cancellation this request waits for the backlog (8 bombs x 30 s / 2 workers = 120 s,
    # a 504 here); with it, for one worker restart (an interpreter start plus sympy's import) and its
    # own verification.
    assert latency < base + 14, (latency, base)
    assert after["restarts"] >= before["restarts"] + 2, after
    assert after["abandoned"] >= before["abandoned"] + 8, after
    assert after["pending"] == 0, after
    print(f"\nordinary request: {base:.2f}s idle, {latency:.2f}s right after a client abandoned 8 towers")


def test_request_past_the_timeout_is_504_and_its_work_is_dropped(server):
    before = _pool(server.url)
    start = time.monotonic()
    r = httpx.post(server.url + "/v1/verify", json=_bombs(6), timeout=60)
    assert r.status_code == 504 and "longer than 15s" in r.json()["error"], r.text
    assert time.monotonic() - start < 25
    latency = _ordinary_latency(server.url)  # a 504 if it waited for the 2 x 30 s of bombs left
    after = _pool(server.url)
    assert latency < 14, latency
    print(f"\nordinary request right after a 504 dropped 6 towers: {latency:.2f}s")
    assert after["abandoned"] >= before["abandoned"] + 6 and after["pending"] == 0, after
