"""Bundled tasks: deterministic generators addressed as `bundled:NAME/SPLIT` in data configs."""

from __future__ import annotations

from collections.abc import Callable

from rlvr.registry import Registry

# name -> generator(split, seed) -> list of rows {"id", "prompt", "answer", ...}
TASKS: Registry[Callable[[str, int], list[dict]]] = Registry("bundled task")


def load_bundled(name: str, split: str, seed: int = 0) -> list[dict]:
    from rlvr.tasks import arith, sql  # noqa: F401  (registers)

    return TASKS.get(name)(split, seed)
