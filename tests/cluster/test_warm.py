"""cluster.warm=true on a real 2-node Ray cluster: a run leaves warm actors, the next claims them,
trains exactly as with cold actors, survives its warm rollout worker's death, and removes warm
actors that imported other code."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from cluster_helpers import cli_env

from rlvr.cluster.warm import code_fingerprint
from rlvr.config.schema import ClusterConfig
from rlvr.trainer.components import check_warm

RLVR = str(Path(sys.executable).with_name("rlvr"))

# A stale warm actor (another code fingerprint) on node 0, and a listing of the warm namespace.
STALE = """
import sys, ray
from rlvr.cluster.warm import NAMESPACE, WarmRolloutWorker
ray.init(address=sys.argv[1], namespace=NAMESPACE, logging_level="ERROR")
node = ray.nodes()[0]["NodeID"]
a = ray.remote(WarmRolloutWorker).options(
    name=f"rollout-000000000000-{node}-stale", namespace=NAMESPACE, lifetime="detached", num_cpus=0
).remote(())
ray.get(a.__ray_ready__.remote())  # started
"""
LIST = """
import json, sys, ray
from rlvr.cluster.warm import NAMESPACE
ray.init(address=sys.argv[1], logging_level="ERROR")
names = sorted(a["name"] for a in ray.util.list_named_actors(all_namespaces=True) if a["namespace"] == NAMESPACE)
if sys.argv[2:] == ["--kill"]:
    for n in names:
        ray.kill(ray.get_actor(n, namespace=NAMESPACE))
print(json.dumps(names))
"""


def _script(code: str, *args: str, env: dict) -> str:
    p = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=180
    )
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout


def _train(run: list[str], run_dir: Path, env: dict, cwd: Path, *, kill_after_step: int = 0) -> str:
    """`rlvr train` to the end; with kill_after_step, SIGKILL its warm rollout worker once that
    step's metrics row exists. Returns train.log."""
    out = open(run_dir.parent / f"{run_dir.name}.out", "w")
    p = subprocess.Popen(
        [RLVR, "train", *run, f"run_dir={run_dir}"], env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT
    )
    start, metrics, killed = time.time(), run_dir / "metrics.jsonl", False
    while p.poll() is None and time.time() - start < 600:
        rows = metrics.read_text().splitlines() if metrics.exists() else []
        if kill_after_step and not killed and len(rows) >= kill_after_step:
            killed = _kill_warm_rollout_worker(env["RAY_AUTH_TOKEN"], run_dir / "engines.log")
        time.sleep(0.3)
    p.wait(timeout=max(1, 600 - (time.time() - start)))
    out.close()
    assert p.returncode == 0, (run_dir.parent / f"{run_dir.name}.out").read_text()[-4000:]
    assert killed or not kill_after_step
    return (run_dir / "train.log").read_text()


def _killed_run(run: list[str], run_dir: Path, env: dict, cwd: Path) -> list[str]:
    """`rlvr train` SIGKILLed (with its process group: no cleanup at all) after step 1; returns
    the warm actors it claimed."""
    out = open(run_dir.parent / f"{run_dir.name}.out", "w")
    p = subprocess.Popen(
        [RLVR, "train", *run, f"run_dir={run_dir}"],
        env=env,
        cwd=cwd,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    metrics, start = run_dir / "metrics.jsonl", time.time()
    while not (metrics.exists() and metrics.read_text()):
        assert p.poll() is None and time.time() - start < 300, "the run ended before step 1"
        time.sleep(0.3)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait(timeout=30)
    out.close()
    return re.findall(r"warm: \w+ actor (\S+) claimed", (run_dir / "train.log").read_text())


def _kill_warm_rollout_worker(token: str, engines_log: Path) -> bool:
    """SIGKILL the run's claimed WarmRolloutWorker: of this cluster's (ours carry its token), the
    one whose output goes to the run's engines.log (idle warm ones wait on every node)."""
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if (
                "ray::WarmRolloutWorker" in " ".join(proc.info["cmdline"] or [])
                and proc.environ().get("RAY_AUTH_TOKEN") == token
                and any(f.path == str(engines_log) for f in proc.open_files())
            ):
                proc.kill()
                return True
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    raise AssertionError("no claimed WarmRolloutWorker process of this run found")


def _rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_second_run_claims_warm_actors_and_trains_as_a_cold_one(
    ray_nodes, rlvr_cache, plugin_dir, tiny_run, tmp_path
):
    env = cli_env(rlvr_cache, plugin_dir, RAY_AUTH_TOKEN=ray_nodes.token, RAY_AUTH_MODE="token")
    run = [o for o in tiny_run if not o.startswith("steps=")]
    run += ["steps=3", f"cluster.address={ray_nodes.gcs_address}", "cluster.warm=true"]
    try:
        cold_log = _train(run, tmp_path / "cold", env, tmp_path)
        assert "claimed" not in cold_log  # a new cluster has no warm actors: the first run is cold
        assert "warm: started 2 rollout actor(s)" in cold_log and "started 2 learner actor(s)" in cold_log
        left = json.loads(_script(LIST, ray_nodes.gcs_address, env=env))
        # one of each kind on each of the 2 nodes: the next run's placement may pick either
        assert [n.split("-")[0] for n in left] == ["learner"] * 2 + ["rollout"] * 2, left

        _script(STALE, ray_nodes.gcs_address, env=env)
        warm_log = _train(run, tmp_path / "warm", env, tmp_path, kill_after_step=1)
        assert "warm: rollout actor rollout-" in warm_log and "warm: learner actor learner-" in warm_log
        assert "removed rollout-000000000000-" in warm_log  # imported other code: never claimed
        assert "restart 1 of 2" in warm_log  # the dead warm worker's place went to a cold one
        engines = (tmp_path / "warm" / "engines.log").read_text()
        assert "Initializing a V1 LLM engine" in engines  # the warm actor's output joined this run's log

        cold, warm = _rows(tmp_path / "cold"), _rows(tmp_path / "warm")
        assert [r["step"] for r in warm] == [1, 2, 3]
        for key in ("reward/mean", "response/length_mean", "learner/loss", "learner/grad_norm"):
            assert all(key in r for r in cold), key
            assert [r.get(key) for r in warm] == [r.get(key) for r in cold], key
        left = json.loads(_script(LIST, ray_nodes.gcs_address, env=env))
        assert len(left) == 4 and not any("stale" in n for n in left), left  # the 2 claimed, replaced

        # A run killed outright never reaches its close: its claimed (detached) actors end themselves.
        claimed = _killed_run(run, tmp_path / "killed", env, tmp_path)
        assert len(claimed) == 2 and set(claimed) <= set(left), (claimed, left)
        deadline = time.time() + 90
        while set(claimed) & set(json.loads(_script(LIST, ray_nodes.gcs_address, env=env))):
            assert time.time() < deadline, "the killed run's warm actors outlived it"
            time.sleep(2)
    finally:
        _script(LIST, ray_nodes.gcs_address, "--kill", env=env)  # the next tests share the cluster


def test_warm_needs_a_running_cluster_and_cpu_actors():
    check_warm(ClusterConfig(), num_gpus=0)  # off: nothing to check
    with pytest.raises(ValueError, match="cluster.address"):
        check_warm(ClusterConfig(warm=True), num_gpus=0)
    with pytest.raises(ValueError, match="num_gpus_per_rank=0"):
        check_warm(ClusterConfig(warm=True, address="auto"), num_gpus=1)
    check_warm(ClusterConfig(warm=True, address="auto"), num_gpus=0)


def test_code_fingerprint_follows_the_source_files(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = 2\n")
    first = code_fingerprint(tmp_path)
    assert code_fingerprint(tmp_path) == first
    (tmp_path / "a.py").write_text("x = 10\n")
    assert code_fingerprint(tmp_path) != first
    assert code_fingerprint() != first and len(code_fingerprint()) == 12
