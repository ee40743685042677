"""Top-level task functions for the pool tests (workers import them by name)."""

from __future__ import annotations

import os
import time


def square(x: int) -> int:
    return x * x


def sleep_return(x: int, seconds: float) -> int:
    time.sleep(seconds)
    return x


def write_pid_then_sleep(path: str, seconds: float) -> int:
    with open(path, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(seconds)
    return os.getpid()


def fail(message: str) -> None:
    raise ValueError(message)


def unpicklable() -> object:
    return lambda: None


def allocate(mb: int) -> int:
    return len(bytearray(mb << 20))


def pid() -> int:
    return os.getpid()


def die() -> None:
    os._exit(3)
