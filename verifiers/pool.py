"""A pool of killable worker processes: the one place where risky verifier work runs.

Why not `concurrent.futures.ProcessPoolExecutor`: it cannot kill one hung task (a sympy call that
never returns), and a dead worker breaks the whole executor. Here each worker has its own pipe; a
dispatcher thread sends it *chunks* of tasks (throughput: no process per task, few round trips),
and watches the deadline of the task each worker is on. Past the deadline the worker is killed
(SIGKILL), that task's result is `timeout`, the rest of its chunk goes back to the queue and a new
worker takes its place. A worker that dies (segfault, OOM kill, os.kill) gives `error` the same way.

Workers are fresh interpreters (`subprocess`: fork+exec), never a bare fork: forking a process that
has threads (Ray actors, uvicorn, this dispatcher) can deadlock the child, and unlike multiprocessing's
spawn/forkserver nothing re-imports the caller's `__main__` (so an unguarded script still works).
A worker imports its `preload` modules before it reports ready, so import time never counts against a
task's timeout; a restart costs one interpreter start plus those imports (about 1-2 s for math).

Sharing: waiting tasks sit in a `FairQueue` (one FIFO per client, served round-robin; the client comes
from the `WorkScope` the caller submits under), and chunks shrink to one task when tasks are slow, so
a single item from one client never waits behind another client's long chunk. Abandoned work
(`WorkScope.cancel()`, e.g. an HTTP client that hung up) is dropped from the queue, and a worker busy
on it is killed and replaced rather than left to finish it.
"""

from __future__ import annotations

import atexit
import itertools
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from verifiers.fair_queue import FairQueue, current_scope
from verifiers.options import default_workers
from verifiers.pool_worker import worker_entry as _worker_entry  # noqa: F401 - see _WORKER_BOOT

STARTUP_TIMEOUT_S = 120.0  # a worker that is not ready by then is killed and replaced
MAX_START_FAILURES = 3  # consecutive deaths before "ready": fail queued tasks instead of looping
# A chunk should take about this long: enough tasks to amortize a round trip when tasks take
# milliseconds, a single task when they take seconds (then nobody waits behind a long chunk).
CHUNK_TARGET_S = 0.05
# A client whose tasks average longer than this never holds every worker (see FairQueue).
SLOW_TASK_S = 1.0
RECENT_S = 60.0


@dataclass(frozen=True)
class TaskResult:
    """Outcome of one task: status "ok" (value holds the return value), "timeout", "error" (detail says
    why), or "cancelled" (its caller abandoned it through `WorkScope.cancel()`)."""

    status: str
    value: Any = None
    detail: str = ""


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "worker process died"
    if code < 0:
        try:
            return f"worker process killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"worker process killed by signal {-code}"
    return f"worker process exited with code {code}"


# Workers run verifiers.pool_worker; `_worker_entry` stays importable here for pools started by an
# older copy of this module (a long-running server whose files were updated under it).
_WORKER_BOOT = "from verifiers.pool_worker import worker_entry; worker_entry()"


class _Task:
    __slots__ = ("id", "fn", "args", "timeout", "future", "client", "queued_at")

    def __init__(
        self, task_id: int, fn: Callable, args: tuple, timeout: float, future: Future, client: str
    ) -> None:
        self.id, self.fn, self.args, self.timeout, self.future = task_id, fn, args, timeout, future
        self.client = client
        self.queued_at = time.monotonic()


class _Worker:
    __slots__ = ("process", "conn", "ready", "inflight", "task_started", "spawned_at", "charged_to")

    def __init__(self, process: subprocess.Popen, conn: Connection, charged_to: str | None = None) -> None:
        self.process = process
        # Until ready, a replacement counts as busy for the client whose task got its predecessor
        # killed: a restart costs seconds, and a client whose work keeps killing workers must not
        # get a larger share of the pool than one whose work finishes.
        self.charged_to = charged_to
        self.conn = conn
        self.ready = False
        self.inflight: deque[_Task] = deque()
        self.task_started = 0.0
        self.spawned_at = time.monotonic()


class WorkerPool:
    """Killable worker processes with per-task timeouts. Thread-safe; `submit` may be called from any thread.

    workers:      number of processes (default min(4, cpu_count)).
    memory_mb:    RLIMIT_AS of each worker in MiB (0: no limit). Allocation beyond it raises
                  MemoryError in the task, which becomes an `error` result.
    preload:      modules each worker imports before it takes tasks.
    max_chunk:    most tasks sent to a worker at once.
    Functions given to `submit`/`map` must be importable top-level functions (they are pickled by name).
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        memory_mb: int = 2048,
        preload: Sequence[str] = (),
        max_chunk: int = 16,
        name: str = "verifiers",
    ) -> None:
        self.size = workers or default_workers()
        self.memory_mb = memory_mb
        self.preload = tuple(preload)
        self.max_chunk = max(1, max_chunk)
        self.name = name
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._pending = FairQueue()
        self._has_cancelled = False  # set by WorkScope.cancel(): the dispatcher sweeps the queue once
        self._closed = False
        self._workers: list[_Worker] = []
        self._start_failures = 0
        self._last_start_error = ""
        self.restarts = 0  # workers replaced after a timeout or a death (for health reports and tests)
        self.abandoned = 0  # tasks dropped or killed because their caller cancelled them
        self._task_s: dict[str, float] = {}  # client -> moving average of seconds per task
        self._seen: dict[str, float] = {}  # client -> when its last task finished
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        for _ in range(self.size):
            self._workers.append(self._spawn())
        self._thread = threading.Thread(target=self._run, name=f"{name}-pool-dispatcher", daemon=True)
        self._thread.start()
        # The dispatcher thread refers to the pool, so it is never garbage collected while open: close it
        # at interpreter exit, before module teardown, so an unclosed pool exits silently.
        atexit.register(self.close)

    # ---- public API -------------------------------------------------------------------------------

    def submit(self, fn: Callable, args: tuple = (), *, timeout: float) -> Future:
        """Queue fn(*args); the Future resolves to a `TaskResult`, or is cancelled by its `WorkScope`."""
        future: Future = Future()
        scope = current_scope()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.name} worker pool is closed; create a new verifier")
            self._pending.push(
                _Task(
                    next(self._ids),
                    fn,
                    tuple(args),
                    float(timeout),
                    future,
                    scope.client if scope is not None else "",
                )
            )
        if scope is not None:
            scope.track(self, future)
        self._wake()
        return future

    def map(self, fn: Callable, arg_tuples: Sequence[tuple], *, timeout: float) -> list[TaskResult]:
        """Run fn(*args) for each args, in parallel across workers; results in input order."""
        futures = [self.submit(fn, args, timeout=timeout) for args in arg_tuples]
        out = []
        for f in futures:
            try:
                out.append(f.result())
            except CancelledError:
                out.append(TaskResult("cancelled", detail="cancelled: its caller abandoned this work"))
        return out

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for health checks and tests)."""
        return [w.process.pid for w in list(self._workers) if w.process.poll() is None]

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Block until every worker has started and imported its preload modules (benchmarks, tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            workers = list(self._workers)
            if len(workers) == self.size and all(w.ready for w in workers):
                return True
            time.sleep(0.02)
        return False

    def stats(self) -> dict[str, Any]:
        """Workers, queue length (`pending`, and per client), age of the oldest queued task, restarts."""
        with self._lock:
            pending = len(self._pending)
            oldest = self._pending.oldest_wait()
            by_client = self._pending.by_client()
        workers = list(self._workers)
        held: dict[str, int] = {}
        for w in workers:
            inflight = list(w.inflight)
            holder = inflight[0].client if inflight else None if w.ready else w.charged_to
            if holder is not None:
                held[holder] = held.get(holder, 0) + 1
        return {
            "workers": len(workers),
            "ready": sum(w.ready for w in workers),
            "busy": sum(bool(w.inflight) for w in workers),
            "held_by_client": held,  # workers busy on, or restarting because of, each client's tasks
            "pending": pending,
            "pending_by_client": by_client,
            "oldest_wait_s": round(oldest, 3),
            "restarts": self.restarts,
            "abandoned": self.abandoned,
        }

    def close(self) -> None:
        """Stop the workers; queued tasks resolve with an `error` result. Also runs at interpreter exit."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.close)
        self._wake()
        self._thread.join(timeout=30)
        if self._thread.is_alive():  # the dispatcher is stuck: stop the workers from here
            WorkerPool._shutdown_workers(list(self._workers))
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- dispatcher (runs on its own thread; the only code touching workers) ------------------------

    def _cancelled_work(self) -> None:
        """A `WorkScope` cancelled tasks of this pool: sweep the queue and check busy workers."""
        with self._lock:
            self._has_cancelled = True
        self._wake()

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass  # the pipe is full (a wake-up is already pending) or closed

    def _spawn(self, charged_to: str | None = None) -> _Worker:
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        # The worker must import what this process imports (a source checkout, a plugin put on sys.path).
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        try:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _WORKER_BOOT,
                    str(theirs.fileno()),
                    str(self.memory_mb),
                    ",".join(self.preload),
                ],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,  # a judge that reads stdin gets EOF, not a hang
                stdout=2,  # worker prints go to our stderr, never into a CLI's stdout results
                env=env,
                close_fds=True,
            )
        finally:
            theirs.close()
        return _Worker(process, Connection(ours.detach()), charged_to)

    def _run(self) -> None:
        try:
            while True:
                with self._lock:
                    if self._closed:
                        break
                self._assign()
                waitables: list[Any] = [self._wake_r]
                # A worker's death closes its end of the socket: the connection turns readable (EOF).
                waitables += [w.conn for w in self._workers]
                try:
                    ready = wait(waitables, timeout=self._next_deadline())
                except OSError:  # a connection closed under us (shutting down): look again
                    continue
                for w in list(self._workers):
                    if w.conn in ready:
                        self._drain(w)
                if self._wake_r in ready:
                    try:
                        while os.read(self._wake_r, 4096):
                            pass
                    except (BlockingIOError, OSError):
                        pass
                self._enforce_deadlines()
        finally:
            # This thread is the only one touching workers, so it also stops them: no other thread may
            # close a connection this loop is waiting on.
            self._fail_all("worker pool closed before this task ran")
            WorkerPool._shutdown_workers(self._workers)

    def _next_deadline(self) -> float | None:
        now = time.monotonic()
        deadlines = []
        for w in self._workers:
            if w.inflight:
                deadlines.append(w.task_started + w.inflight[0].timeout)
            elif not w.ready:
                deadlines.append(w.spawned_at + STARTUP_TIMEOUT_S)
        return max(0.0, min(deadlines) - now) if deadlines else None

    def _assign(self) -> None:
        with self._lock:
            if self._has_cancelled:
                # Drop tasks whose caller gave up (e.g. an HTTP client that hung up or timed out).
                self._has_cancelled = False
                self.abandoned += self._pending.drop_cancelled()
        idle = [w for w in self._workers if w.ready and not w.inflight]
        if not idle:
            return
        with self._lock:
            if not self._pending:
                return
            busy: dict[str, int] = {}
            for w in self._workers:
                holder = w.inflight[0].client if w.inflight else None if w.ready else w.charged_to
                if holder is not None:
                    busy[holder] = busy.get(holder, 0) + 1
            around, slow = self._clients_around(busy)
            plan = []
            for w in idle:
                chunk: list[_Task] = []
                while (
                    not chunk
                    and (client := self._pending.next_client(busy, self.size, around=around, slow=slow))
                    is not None
                ):
                    chunk = self._pending.take(client, self._chunk_size(client))
                if not chunk:
                    break
                busy[chunk[0].client] = busy.get(chunk[0].client, 0) + 1
                plan.append((w, chunk))
        for w, chunk in plan:
            w.inflight.extend(chunk)
            w.task_started = time.monotonic()
            try:
                w.conn.send([(t.id, t.fn, t.args) for t in chunk])
            except (OSError, ValueError) as exc:
                self._replace(w, f"could not send work to worker: {exc}", first_task_status=None)
            except Exception as exc:  # e.g. unpicklable arguments: those tasks fail, the worker is fine
                for t in chunk:
                    w.inflight.remove(t)
                    self._resolve(
                        t,
                        TaskResult(
                            "error", detail=f"could not send task to worker: {type(exc).__name__}: {exc}"
                        ),
                    )

    def _drain(self, w: _Worker) -> None:
        """Read every message the worker has sent; handle its death if it died."""
        try:
            while w.conn.poll():
                kind, task_id, value = w.conn.recv()
                if kind == "ready":
                    w.ready = True
                    self._start_failures = 0
                elif kind == "fatal":
                    self._last_start_error = value
                elif w.inflight and w.inflight[0].id == task_id:
                    task = w.inflight.popleft()
                    now = time.monotonic()
                    self._note_duration(task.client, now - w.task_started)
                    w.task_started = now
                    self._resolve(
                        task,
                        TaskResult("ok", value=value) if kind == "ok" else TaskResult("error", detail=value),
                    )
        except (EOFError, OSError):
            # EOF: the worker is gone (or going); reap it to learn how it died.
            try:
                code = w.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
            self._replace(w, _describe_exit(code), first_task_status="error")

    def _chunk_size(self, client: str) -> int:
        """Tasks per chunk: every worker gets a share of the queue, and a chunk of this client's tasks
        takes about CHUNK_TARGET_S (enough fast tasks to amortize the round trip; one slow task)."""
        task_s = self._task_s.get(client)
        # A client not measured yet gets one task: its tasks may take seconds each.
        by_speed = 1 if task_s is None else int(CHUNK_TARGET_S / task_s) if task_s > 0 else self.max_chunk
        return max(1, min(self.max_chunk, by_speed, math.ceil(len(self._pending) / len(self._workers))))

    def _note_duration(self, client: str, seconds: float) -> None:
        """Moving average of seconds per task, per client (sizes chunks, marks slow clients)."""
        old = self._task_s.get(client)
        if old is None and len(self._task_s) >= 1024:
            self._task_s.clear()  # many short-lived clients (addresses): forget, rather than grow
            self._seen.clear()
        self._task_s[client] = seconds if old is None else 0.8 * old + 0.2 * seconds
        self._seen[client] = time.monotonic()

    def _clients_around(self, busy: dict[str, int]) -> tuple[set[str], set[str]]:
        """Clients queued, holding a worker or served in the last RECENT_S; and those kept off the
        last worker: clients not measured yet (a newcomer proves its tasks are quick before it may
        take every worker, even alone: someone may arrive while it holds them all), and slow clients
        while someone else is around (alone, a measured client may use every worker)."""
        now = time.monotonic()
        around = {c for c, t in self._seen.items() if now - t < RECENT_S}
        around |= set(self._pending.by_client()) | {c for c, n in busy.items() if n}
        if self.size < 2:
            return around, set()
        unmeasured = {c for c in around if c not in self._task_s}
        if len(around) < 2:
            return around, unmeasured
        return around, unmeasured | {c for c in around if self._task_s.get(c, 0.0) > SLOW_TASK_S}

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for w in list(self._workers):
            if w.inflight and w.inflight[0].future.cancelled():
                # Nobody waits for this task any more: free the worker now instead of after its timeout.
                # Its time so far still counts: a client that abandons slow work is a slow client.
                self._note_duration(w.inflight[0].client, now - w.task_started)
                self._replace(w, "abandoned by its caller", first_task_status=None)
            elif w.inflight and now >= w.task_started + w.inflight[0].timeout:
                self._note_duration(w.inflight[0].client, w.inflight[0].timeout)
                self._replace(w, f"timed out after {w.inflight[0].timeout:g}s", first_task_status="timeout")
            elif not w.ready and not w.inflight and now >= w.spawned_at + STARTUP_TIMEOUT_S:
                self._replace(w, f"worker not ready after {STARTUP_TIMEOUT_S:g}s", first_task_status=None)

    def _replace(self, w: _Worker, why: str, *, first_task_status: str | None) -> None:
        """Kill `w`, settle its current task, requeue the rest of its chunk, start a replacement."""
        if w.process.poll() is None:
            w.process.kill()
            try:
                w.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        w.conn.close()
        inflight = list(w.inflight)
        culprit = inflight[0].client if inflight else w.charged_to
        if inflight and first_task_status is not None:
            self._resolve(inflight.pop(0), TaskResult(first_task_status, detail=why))
        live = [t for t in inflight if not t.future.cancelled()]
        with self._lock:
            self.abandoned += len(inflight) - len(live)
            self._pending.push_front(live)
        if not w.ready:
            self._start_failures += 1
            self._last_start_error = self._last_start_error or why
        self._workers.remove(w)
        self.restarts += 1
        if self._start_failures >= MAX_START_FAILURES:
            self._fail_all(
                f"verifier workers fail to start ({self._last_start_error}); check that the verifier imports in a fresh process"
            )
            self._start_failures = 0
        with self._lock:
            closed = self._closed
        if not closed:
            self._workers.append(self._spawn(culprit))

    def _resolve(self, task: _Task, result: TaskResult) -> None:
        if not task.future.done():
            task.future.set_result(result)

    def _fail_all(self, why: str) -> None:
        with self._lock:
            tasks = self._pending.drain()
        for w in self._workers:
            tasks += list(w.inflight) if self._closed else []
        for t in tasks:
            self._resolve(t, TaskResult("error", detail=why))

    @staticmethod
    def _shutdown_workers(workers: list[_Worker]) -> None:
        for w in workers:
            try:
                w.conn.send(None)
            except Exception:
                pass
        deadline = time.monotonic() + 2
        for w in workers:
            try:
                w.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                w.process.kill()
                try:
                    w.process.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass
            try:
                w.conn.close()
            except OSError:
                pass
