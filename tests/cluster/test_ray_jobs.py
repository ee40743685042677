"""`rlvr submit ray` and `rlvr jobs` against a real 2-node Ray cluster with token auth on."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TINY_RUN, cli_env

RLVR = str(Path(sys.executable).with_name("rlvr"))


def rlvr(*args: str, env: dict, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([RLVR, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_driver_joins_with_the_token_alone(ray_nodes, rlvr_cache, tmp_path):
    """The issue's failure: RAY_AUTH_TOKEN exported without RAY_AUTH_MODE=token (as on every node)."""
    code = (
        "from rlvr.trainer.components import init_ray; from rlvr.config.schema import ClusterConfig; "
        f"init_ray(ClusterConfig(address='{ray_nodes.gcs_address}')); import ray; "
        "print('alive', sum(n['Alive'] for n in ray.nodes()))"
    )
    env = cli_env(rlvr_cache, RAY_AUTH_TOKEN=ray_nodes.token)
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "alive 2" in p.stdout


def test_bad_override_fails_at_submission(ray_nodes, rlvr_cache, tmp_path):
    env = cli_env(rlvr_cache, RAY_AUTH_TOKEN=ray_nodes.token)
    p = rlvr(
        "submit",
        "ray",
        "--address",
        ray_nodes.dashboard_url,
        "--",
        *TINY_RUN,
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


def test_stop_ends_a_running_job(ray_nodes, rlvr_cache, tmp_path, monkeypatch):
    from rlvr.cluster import ray_jobs

    monkeypatch.setenv("RAY_AUTH_TOKEN", ray_nodes.token)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    c = ray_jobs.client(ray_nodes.dashboard_url)
    job = c.submit_job(entrypoint="sleep 600")
    deadline = time.time() + 60
    while ray_jobs.status(job, ray_nodes.dashboard_url) != "RUNNING":
        assert time.time() < deadline, "the sleep job never started"
        time.sleep(1)
    assert ray_jobs.stop(job, ray_nodes.dashboard_url)
    while ray_jobs.status(job, ray_nodes.dashboard_url) == "RUNNING":
        assert time.time() < deadline + 60
        time.sleep(1)
    assert ray_jobs.status(job, ray_nodes.dashboard_url) == "STOPPED"


@pytest.mark.slow
def test_submitted_run_succeeds_and_jobs_reports_it(ray_nodes, rlvr_cache, tmp_path):
    env = cli_env(rlvr_cache, RAY_AUTH_TOKEN=ray_nodes.token)
    work = tmp_path / "work"
    work.mkdir()
    run_dir = tmp_path / "run"
    start = time.time()
    p = subprocess.Popen(
        [
            RLVR,
            "submit",
            "ray",
            "--address",
            ray_nodes.dashboard_url,
            "--follow",
            "--",
            *TINY_RUN,
            f"hydra.run.dir={run_dir}",
        ],
        env=env,
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    first_step = None
    while p.poll() is None and time.time() - start < 900:
        if (
            first_step is None
            and (run_dir / "metrics.jsonl").exists()
            and (run_dir / "metrics.jsonl").read_text()
        ):
            first_step = time.time() - start
        time.sleep(0.5)
    out = p.communicate(timeout=max(1, 900 - (time.time() - start)))[0]
    assert p.returncode == 0, out[-4000:]
    print(f"\nRay: submit-to-first-step {first_step:.1f} s, submit-to-end {time.time() - start:.1f} s")
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    assert (run_dir / "final" / "model.safetensors").exists()

    job_id = next(line.split()[-1] for line in out.splitlines() if line.startswith("submitted Ray job"))
    s = rlvr("jobs", "status", job_id, env=env, cwd=work)
    assert s.stdout.strip() == "SUCCEEDED", s.stderr
    listed = rlvr("jobs", "list", env=env, cwd=work)
    assert any(
        job_id in line and "SUCCEEDED" in line and str(run_dir) in line for line in listed.stdout.splitlines()
    )
    logs = rlvr("jobs", "logs", job_id, env=env, cwd=work)
    assert "train" in logs.stdout and logs.returncode == 0
