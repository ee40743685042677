"""The worker side of `verifiers.pool`: the loop each worker interpreter runs.

A worker is started as `python -c "from verifiers.pool_worker import worker_entry; worker_entry()"`
with its end of a socket pair; it imports its preload modules, reports ready, then runs chunks of
tasks and sends one result per task. It dies with its parent (Linux), ignores Ctrl-C (the parent's
business), and leaves quietly when the parent is gone (no broken-pipe traceback at exit).
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any


def worker_entry() -> None:
    """Entry point of a worker interpreter: argv = [fd, memory_mb, comma-separated preload modules]."""
    fd, memory_mb, preload = int(sys.argv[1]), int(sys.argv[2]), [m for m in sys.argv[3].split(",") if m]
    _worker_main(Connection(fd), memory_mb, preload)


def _die_with_parent() -> None:
    """Linux: get SIGKILL when the parent dies, so a worker stuck in a hung task never outlives it."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def _worker_main(conn: Any, memory_mb: int, preload: Sequence[str]) -> None:
    """Worker loop: receive chunks [(task_id, fn, args)], send ("ok"|"error", task_id, value) per task."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    _die_with_parent()
    if memory_mb:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory_mb << 20
        resource.setrlimit(
            resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard)
        )
    try:
        for module in preload:
            importlib.import_module(module)
    except BaseException as exc:
        conn.send(("fatal", None, f"preloading failed: {type(exc).__name__}: {exc}"))
        return
    try:
        conn.send(("ready", None, os.getpid()))
    except OSError:  # the parent is gone (it exited while we imported): nothing to report to
        return
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        for task_id, fn, args in chunk:
            try:
                out = ("ok", task_id, fn(*args))
            except MemoryError:
                out = ("error", task_id, f"MemoryError: worker memory limit ({memory_mb} MiB) reached")
            except BaseException as exc:  # noqa: BLE001 - any failure is this task's result
                try:
                    msg = str(exc)[:300]
                except BaseException:  # str() of some sympy objects can itself fail
                    msg = "?"
                out = ("error", task_id, f"{type(exc).__name__}: {msg}")
            try:
                try:
                    conn.send(out)
                except OSError:
                    raise
                except Exception as exc:  # e.g. an unpicklable return value
                    conn.send(
                        ("error", task_id, f"result could not be sent back: {type(exc).__name__}: {exc}")
                    )
            except OSError:  # broken pipe: the parent exited or dropped us; leave without a traceback
                return
