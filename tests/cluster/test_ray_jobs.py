"""`rlvr submit ray` and `rlvr jobs` against a real 2-node Ray cluster with token auth on."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from cluster_helpers import cli_env

RLVR = str(Path(sys.executable).with_name("rlvr"))


def rlvr(*args: str, env: dict, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([RLVR, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_driver_joins_with_the_token_alone(ray_nodes, rlvr_cache, plugin_dir):
    """The issue's failure: RAY_AUTH_TOKEN exported without RAY_AUTH_MODE=token (as on every node)."""
    code = (
        "from rlvr.trainer.components import init_ray; from rlvr.config.schema import ClusterConfig; "
        f"init_ray(ClusterConfig(address='{ray_nodes.gcs_address}')); import ray; "
        "print('alive', sum(n['Alive'] for n in ray.nodes()))"
    )
    env = cli_env(rlvr_cache, plugin_dir, RAY_AUTH_TOKEN=ray_nodes.token)
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "alive 2" in p.stdout


def test_bad_override_fails_at_submission(ray_nodes, rlvr_cache, plugin_dir, tiny_run, tmp_path):
    env = cli_env(rlvr_cache, plugin_dir, RAY_AUTH_TOKEN=ray_nodes.token)
    p = rlvr(
        "submit",
        "ray",
        "--address",
        ray_nodes.dashboard_url,
        "--",
        *tiny_run,
        "learner.lr=fast",
        env=env,
        cwd=tmp_path,
    )
    assert p.returncode == 2
    assert "config error" in p.stderr and "learner.lr" in p.stderr
    assert (
        not (rlvr_cache / "jobs.jsonl").exists()
        or "learner.lr=fast" not in (rlvr_cache / "jobs.jsonl").read_text()
    )


STOP_SCRIPT = """
import sys, time
from rlvr.cluster import ray_jobs

url = sys.argv[1]
job = ray_jobs.client(url).submit_job(entrypoint="sleep 600")
deadline = time.time() + 60
while ray_jobs.status(job, url) != "RUNNING":
    assert time.time() < deadline, "the sleep job never started"
    time.sleep(1)
assert ray_jobs.stop(job, url)
while ray_jobs.status(job, url) == "RUNNING":
    assert time.time() < deadline + 60
    time.sleep(1)
print("final status:", ray_jobs.status(job, url))
"""


def test_stop_ends_a_running_job(ray_nodes, rlvr_cache, plugin_dir):
    # In a process of its own, as a user's shell would: a token loaded into this pytest process
    # stays cached in Ray's client and breaks every later test's local (auto-token) cluster.
    env = cli_env(rlvr_cache, plugin_dir, RAY_AUTH_TOKEN=ray_nodes.token)
    p = subprocess.run(
        [sys.executable, "-c", STOP_SCRIPT, ray_nodes.dashboard_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, (p.stdout + p.stderr)[-3000:]
    assert "final status: STOPPED" in p.stdout


def _kill_one_rollout_worker(token: str) -> int:
    """SIGKILL a RolloutWorker actor process of *this* cluster (other people's runs share the
    machine: ours are the ones whose environment carries this cluster's token)."""
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if "ray::RolloutWorker" in " ".join(proc.info["cmdline"] or []) and (
                proc.environ().get("RAY_AUTH_TOKEN") == token
            ):
                proc.kill()
                return proc.pid
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    raise AssertionError("no RolloutWorker process of this cluster found")


@pytest.mark.slow
def test_submitted_run_spreads_survives_a_dead_worker_and_jobs_reports_it(
    ray_nodes, rlvr_cache, plugin_dir, tiny_run, tmp_path
):
    """One job covers the Jobs API path, placement (2 workers + 2 ranks SPREAD over the 2 nodes)
    and a rollout worker killed after step 1 (restarted; its prompts retried)."""
    env = cli_env(rlvr_cache, plugin_dir, RAY_AUTH_TOKEN=ray_nodes.token)
    work = tmp_path / "work"
    work.mkdir()
    run_dir = tmp_path / "run"
    run = [o for o in tiny_run if not o.startswith("steps=")]
    run += ["steps=3", "rollout.num_workers=2", "learner.world_size=2", "cluster.placement=SPREAD"]
    start = time.time()
    out_file = open(tmp_path / "submit.out", "w")
    p = subprocess.Popen(
        [
            RLVR,
            "submit",
            "ray",
            "--address",
            ray_nodes.dashboard_url,
            "--follow",
            "--",
            *run,
            f"hydra.run.dir={run_dir}",
        ],
        env=env,
        cwd=work,
        stdout=out_file,  # a file, not a pipe: nobody reads a pipe during the run and it would fill
        stderr=subprocess.STDOUT,
    )
    metrics, first_step, killed = run_dir / "metrics.jsonl", None, None
    while p.poll() is None and time.time() - start < 900:
        if first_step is None and metrics.exists() and metrics.read_text():
            first_step = time.time() - start
            killed = _kill_one_rollout_worker(ray_nodes.token)
        time.sleep(0.3)
    p.wait(timeout=max(1, 900 - (time.time() - start)))
    out_file.close()
    out = (tmp_path / "submit.out").read_text()
    assert p.returncode == 0, out[-4000:]
    print(
        f"\nRay: submit-to-first-step {first_step:.1f} s, submit-to-end {time.time() - start:.1f} s (2+2 actors)"
    )
    assert killed is not None
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert (run_dir / "final" / "model.safetensors").exists()

    log = (run_dir / "train.log").read_text()
    assert "rollout worker" in log and "restart 1 of 2" in log, log[-3000:]
    for group in ("rollout worker", "learner rank"):
        nodes = set(re.findall(rf"placement: {group} \d on node (\w+)", log))
        assert len(nodes) == 2, (group, nodes)  # SPREAD: one actor on each node

    job_id = next(line.split()[-1] for line in out.splitlines() if line.startswith("submitted Ray job"))
    s = rlvr("jobs", "status", job_id, env=env, cwd=work)
    assert s.stdout.strip() == "SUCCEEDED", s.stderr
    listed = rlvr("jobs", "list", env=env, cwd=work)
    assert any(
        job_id in line and "SUCCEEDED" in line and str(run_dir) in line for line in listed.stdout.splitlines()
    )
    logs = rlvr("jobs", "logs", job_id, env=env, cwd=work)
    assert "train" in logs.stdout and logs.returncode == 0
