"""The killable worker pool: results, timeouts, deaths, memory limit, recovery, concurrency, cancelled
work, fairness between clients, and a silent interpreter exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import vf_pool_tasks as tasks

from verifiers.fair_queue import WorkScope
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


def test_cancelled_scope_drops_queue_and_frees_busy_workers():
    # One worker: the hog occupies all of it (with more workers a newcomer gets at most all but one).
    with WorkerPool(1, name="cancel") as pool:
        assert pool.wait_ready(60)
        scope = WorkScope("hog")
        with scope:
            hogs = [pool.submit(tasks.sleep_return, (i, 60.0), timeout=120) for i in range(8)]
        deadline = time.monotonic() + 30
        while pool.stats()["busy"] < 1:  # the worker is on a 60 s task
            assert time.monotonic() < deadline, pool.stats()
            time.sleep(0.05)
        assert scope.cancel() == 8
        assert all(f.cancelled() for f in hogs)
        start = time.monotonic()
        assert pool.submit(tasks.square, (7,), timeout=30).result(timeout=60).value == 49
        # One worker restart (an interpreter start), not the 8 x 60 s the abandoned tasks would take.
        assert time.monotonic() - start < 30
        stats = pool.stats()
        assert stats["restarts"] == 1 and stats["abandoned"] == 8 and stats["pending"] == 0, stats
        # Work submitted under a cancelled scope resolves at once, so an abandoned verify_batch returns.
        with scope:
            late = pool.map(tasks.square, [(2,)], timeout=10)
        assert late[0].status == "cancelled"


def test_other_client_is_served_before_a_long_backlog(pool):
    assert pool.wait_ready(60)
    with WorkScope("big"):
        backlog = [pool.submit(tasks.sleep_return, (i, 0.02), timeout=30) for i in range(300)]
    time.sleep(0.3)
    with WorkScope("small"):
        single = pool.submit(tasks.sleep_return, (-1, 0.0), timeout=30)
    stats = pool.stats()
    assert single.result(timeout=30).value == -1
    done_before = sum(f.done() for f in backlog)
    assert stats["pending_by_client"].get("big", 0) > 100 and stats["oldest_wait_s"] > 0.2, stats
    # Round-robin by client: the single task went out with the next chunk, not after 300 tasks.
    assert done_before < 150, done_before
    assert [f.result(timeout=60).value for f in backlog] == list(range(300))


def test_slow_client_does_not_hold_every_worker_while_another_waits(pool):
    assert pool.wait_ready(60)
    with WorkScope("slow"):
        slow = [pool.submit(tasks.sleep_return, (i, 2.5), timeout=30) for i in range(6)]
    time.sleep(0.2)
    start = time.monotonic()
    with WorkScope("fast"):
        fast = [pool.submit(tasks.sleep_return, (i, 0.01), timeout=30) for i in range(40)]
    assert [f.result(timeout=60).value for f in fast] == list(range(40))
    slow_done = sum(f.done() for f in slow)
    # The fast client got a worker of its own: in one queue it would have waited for all six slow tasks.
    assert slow_done <= 3, slow_done
    assert time.monotonic() - start < 20
    assert [f.result(timeout=60).value for f in slow] == list(range(6))


EXIT_SCRIPT = r"""
import os, sqlite3, sys, tempfile
from verifiers import get_verifier
db = os.path.join(tempfile.mkdtemp(), "t.db")
with sqlite3.connect(db) as c:
    c.execute("CREATE TABLE t(x)"); c.execute("INSERT INTO t VALUES (1)")
math, sql = get_verifier("math", workers=2), get_verifier("sql", workers=2)
n = 0
for _ in range(3):
    n += len(math.verify_batch([r"\boxed{2}", "no answer", r"\boxed{\frac{1}{2}}"], ["2", "1", "0.5"]))
    n += len(sql.verify_batch(["```sql\nSELECT x FROM t\n```"] * 2, ["SELECT x FROM t"] * 2, [{"db_path": db}] * 2))
print("verified", n)
if sys.argv[1] == "close":
    math.close(); sql.close()
"""


@pytest.mark.parametrize("how", ["close", "no-close"])
def test_exit_is_silent_with_or_without_close(how, tmp_path):
    script = tmp_path / "script.py"
    script.write_text(EXIT_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, str(script), how], capture_output=True, text=True, timeout=180, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "verified 15"
    assert done.stderr == ""
