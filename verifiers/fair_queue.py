"""What the worker pool waits on: one FIFO per client served round-robin, and the scope that names
the client of a piece of work and lets its caller abandon it.

Why per-client queues: a service shares one pool among many callers. With a single FIFO, one
caller's 10,000-item batch puts every later caller behind it; round-robin by client lets a single
item from someone else go next.

Why a scope (a context variable) and not an argument: `verify_batch(responses, references,
metadata)` is the public interface of every verifier, plugins included. A service wraps the call in
`with WorkScope(client):` and every task the verifier submits to any pool on that thread is tagged
and cancellable, without the verifier knowing.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Mapping, Set
from concurrent.futures import Future
from contextvars import ContextVar
from typing import Any, Protocol

_CURRENT: ContextVar[WorkScope | None] = ContextVar("rlvr_work_scope", default=None)


class _Cancellable(Protocol):
    def _cancelled_work(self) -> None: ...


class WorkScope:
    """Names the client of the pool work submitted inside `with scope:` and can abandon all of it.

    `cancel()` (from any thread) cancels every task the scope submitted that has not finished:
    queued ones are dropped, and a worker busy on one is killed and replaced. Tasks submitted after
    `cancel()` resolve at once as cancelled, so the abandoned `verify_batch` call returns quickly.
    """

    def __init__(self, client: str = "") -> None:
        self.client = client
        self._lock = threading.Lock()
        self._futures: list[Future] = []
        self._pools: set[Any] = set()
        self.cancelled = False
        self._token: Any = None

    def track(self, pool: _Cancellable, future: Future) -> None:
        """Called by a pool for each task it queues under this scope."""
        with self._lock:
            if self.cancelled:
                future.cancel()
                return
            self._futures.append(future)
            self._pools.add(pool)

    def cancel(self) -> int:
        """Abandon the scope's unfinished tasks; returns how many were cancelled."""
        with self._lock:
            self.cancelled = True
            futures, self._futures = self._futures, []
            pools = list(self._pools)
        n = sum(f.cancel() for f in futures)
        for pool in pools:
            pool._cancelled_work()  # wake its dispatcher: drop queued tasks, kill busy workers
        return n

    def __enter__(self) -> WorkScope:
        self._token = _CURRENT.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _CURRENT.reset(self._token)


def current_scope() -> WorkScope | None:
    return _CURRENT.get()


class FairQueue:
    """Tasks (objects with `.client`, `.queued_at` and `.future`) waiting for a worker.

    Fair share of workers, not of tasks: one client's slow tasks (seconds each, up to the timeout)
    must not take every worker while another client's fast ones wait. So the next worker goes to a
    client holding fewer than its share (workers / active clients) of busy workers, in round-robin
    order; if every waiting client holds its share, to the next in the round (no worker idles while
    work waits), except that a client whose tasks are slow never holds every worker.
    Within a client, first in first out; cancelled tasks are skipped. Not thread-safe: the pool's
    lock guards it.
    """

    def __init__(self) -> None:
        # dict order is the round-robin order: a served client is moved to the end.
        self._queues: dict[str, deque] = {}
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def push(self, task: Any) -> None:
        self._queues.setdefault(task.client, deque()).append(task)
        self._n += 1

    def push_front(self, tasks: list[Any]) -> None:
        """Put tasks back at the head of their clients' queues (the rest of a killed worker's chunk)."""
        for task in reversed(tasks):
            self._queues.setdefault(task.client, deque()).appendleft(task)
            self._n += 1

    def next_client(
        self,
        busy: Mapping[str, int],
        workers: int,
        *,
        around: Set[str] = frozenset(),
        slow: Set[str] = frozenset(),
    ) -> str | None:
        """The client whose tasks the next free worker should take (None: leave it idle).

        busy:   workers held by each client (on its task, or restarting because of one);
        around: clients seen recently, who count for the share even with nothing queued right now
                (an honest client between two requests must not lose its worker);
        slow:   clients whose tasks take long; they never hold every worker (one stays for the others).
        """
        if not self._queues:
            return None
        active = set(self._queues) | set(around) | {c for c, n in busy.items() if n}
        share = max(1, math.ceil(workers / len(active)))
        allowed = [c for c in self._queues if not (c in slow and busy.get(c, 0) >= workers - 1)]
        for client in allowed:
            if busy.get(client, 0) < share:
                return client
        return allowed[0] if allowed else None  # all at their share: no worker idles while work waits

    def take(self, client: str, n: int) -> list[Any]:
        """Up to n live tasks of `client`, oldest first; the client moves to the end of the round."""
        queue = self._queues.pop(client, None)
        out: list[Any] = []
        while queue and len(out) < n:
            task = queue.popleft()
            self._n -= 1
            if not task.future.cancelled():
                out.append(task)
        if queue:
            self._queues[client] = queue
        return out

    def drop_cancelled(self) -> int:
        dropped = 0
        for client in list(self._queues):
            queue = self._queues[client]
            kept = deque(t for t in queue if not t.future.cancelled())
            dropped += len(queue) - len(kept)
            if kept:
                self._queues[client] = kept
            else:
                del self._queues[client]
        self._n -= dropped
        return dropped

    def drain(self) -> list[Any]:
        tasks = [t for q in self._queues.values() for t in q]
        self._queues.clear()
        self._n = 0
        return tasks

    def oldest_wait(self, now: float | None = None) -> float:
        """Seconds the longest-waiting task has been queued (0 when empty)."""
        heads = [q[0].queued_at for q in self._queues.values() if q]
        return max(0.0, (now or time.monotonic()) - min(heads)) if heads else 0.0

    def by_client(self) -> dict[str, int]:
        return {client: len(q) for client, q in self._queues.items()}
