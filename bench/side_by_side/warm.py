"""The warm-cluster piece of `make bench`: a private Ray head on this machine (its own ports and
temp dir, token auth on, stopped by the pids it started), one short `rlvr train` with
cluster.warm=true that leaves warm actors, then the measured GRPO job that claims them.

The threads are the ones a run's own local cluster gets on this machine (every core per phase),
set explicitly: on a joined cluster auto leaves Ray's one thread per actor.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def warm_overrides(gcs_address: str) -> list[str]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return [
        f"cluster.address={gcs_address}",
        "cluster.warm=true",
        f"rollout.num_threads={cores}",
        f"learner.num_threads={cores}",
    ]


def run_warm(name: str, overrides: list[str], logs: Path, runs: Path, run_rlvr):
    """`run_rlvr(name, overrides + warm, ...)` on a fresh head whose warm pool one steps=1 run
    filled first; returns its Measured (start-up = launch to step 1 with warm actors)."""
    sys.path.insert(0, str(REPO / "tests" / "cluster"))
    from ray_nodes import start_ray_nodes

    temp = Path(tempfile.mkdtemp(prefix="rlvr-warm-"))  # short: Ray's socket paths have a limit
    nodes = start_ray_nodes(temp, workers=0, num_cpus=8)
    env = {**os.environ, **nodes.env}
    try:
        warm = warm_overrides(nodes.gcs_address)
        fill = [o for o in overrides if not o.startswith("steps=")] + ["steps=1"]
        run_rlvr(f"{name}_fill", [*fill, *warm], logs, runs, env=env)
        time.sleep(15)  # the warm actors import (vLLM ~6 s) while nothing else runs
        return run_rlvr(name, [*overrides, *warm], logs, runs, env=env)
    finally:
        nodes.stop()
        shutil.rmtree(temp, ignore_errors=True)
