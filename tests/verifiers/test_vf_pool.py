"""The killable worker pool: results, timeouts, deaths, memory limit, recovery, concurrency."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import vf_pool_tasks as tasks

from verifiers.pool import WorkerPool


@pytest.fixture(scope="module")
def pool():
    p = WorkerPool(2, memory_mb=1024, max_chunk=8, name="test")
    assert p.wait_ready(60)
    yield p
    p.close()


def test_map_keeps_order_across_chunks(pool):
    results = pool.map(tasks.square, [(i,) for i in range(200)], timeout=10)
    assert [r.status for r in results] == ["ok"] * 200
    assert [r.value for r in results] == [i * i for i in range(200)]


def test_timeout_kills_worker_and_rest_of_chunk_still_runs(pool):
    before = pool.restarts
    start = time.monotonic()
    results = pool.map(tasks.sleep_return, [(0, 30.0)] + [(i, 0.0) for i in range(1, 20)], timeout=1.0)
    assert results[0].status == "timeout" and "timed out after 1s" in results[0].detail
    assert [r.value for r in results[1:]] == list(range(1, 20))
    assert time.monotonic() - start < 1.0 + 1.0 + 2.0  # timeout + slack for a loaded 2-core machine
    assert pool.restarts == before + 1
    assert pool.wait_ready(60) and len(pool.worker_pids()) == 2


def test_worker_killed_mid_task_gives_error_and_pool_recovers(pool, tmp_path):
    marker = tmp_path / "pid"
    future = pool.submit(tasks.write_pid_then_sleep, (str(marker), 30.0), timeout=60)
    deadline = time.monotonic() + 30
    while not marker.exists() or not marker.read_text():
        assert time.monotonic() < deadline, "task never started"
        time.sleep(0.05)
    victim = int(marker.read_text())
    assert victim in pool.worker_pids()
    os.kill(victim, signal.SIGKILL)
    result = future.result(timeout=10)
    assert result.status == "error" and "SIGKILL" in result.detail
    assert pool.wait_ready(60)
    assert victim not in pool.worker_pids()
    assert [r.value for r in pool.map(tasks.square, [(3,), (4,)], timeout=10)] == [9, 16]


def test_worker_exit_and_exceptions_are_per_task(pool):
    results = pool.map(tasks.fail, [("nope",)], timeout=10) + pool.map(tasks.unpicklable, [()], timeout=10)
    assert results[0].status == "error" and "ValueError: nope" in results[0].detail
    assert results[1].status == "error" and "could not be sent back" in results[1].detail
    died = pool.submit(tasks.die, (), timeout=10).result(timeout=20)
    assert died.status == "error" and "exited with code 3" in died.detail
    assert pool.map(tasks.square, [(5,)], timeout=10)[0].value == 25


def test_memory_limit_gives_error(pool):
    result = pool.submit(tasks.allocate, (2048,), timeout=20).result()
    assert result.status == "error" and "MemoryError" in result.detail
    assert pool.submit(tasks.allocate, (16,), timeout=20).result().value == 16 << 20


def test_many_threads_submit_at_once(pool):
    out: dict[int, int] = {}

    def client(k: int) -> None:
        out[k] = sum(r.value for r in pool.map(tasks.square, [(k,)] * 25, timeout=10))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert out == {k: 25 * k * k for k in range(16)}


def test_closed_pool_refuses_work():
    p = WorkerPool(1, name="closing")
    pids = p.worker_pids()
    p.close()
    with pytest.raises(RuntimeError, match="closed"):
        p.submit(tasks.square, (1,), timeout=1)
    time.sleep(0.2)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
