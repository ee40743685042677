"""`rlvr submit slurm` and `rlvr jobs` against a real single-node Slurm cluster."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cluster_helpers import cli_env

REPO = Path(__file__).resolve().parents[2]
RLVR = str(Path(sys.executable).with_name("rlvr"))


def rlvr(*args: str, env: dict, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([RLVR, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_example_script_is_the_rendered_template():
    from rlvr.cluster.slurm import example_script

    assert (REPO / "slurm" / "ray_cluster.sbatch").read_text() == example_script(), (
        "slurm/ray_cluster.sbatch is out of date: python -m rlvr.cluster.slurm example > slurm/ray_cluster.sbatch"
    )


def test_dry_run_prints_a_valid_script_with_the_run(rlvr_cache, plugin_dir, tiny_run, tmp_path):
    env = cli_env(rlvr_cache, plugin_dir)
    p = rlvr(
        "submit",
        "slurm",
        "--nodes",
        "2",
        "--time",
        "1:00:00",
        "--dry-run",
        "--",
        *tiny_run,
        env=env,
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    script = p.stdout
    assert "#SBATCH --nodes=2" in script and "#SBATCH --time=1:00:00" in script
    assert f"RUN_DIR={tmp_path}/runs/" in script  # absolute, under the submitting directory
    assert "algorithm=grpo" in script and "steps=2" in script
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0
    assert not (rlvr_cache / "jobs.jsonl").exists() or "runs/" not in (rlvr_cache / "jobs.jsonl").read_text()


def test_bad_override_fails_at_submission(slurm, rlvr_cache, plugin_dir, tiny_run, tmp_path):
    env = cli_env(rlvr_cache, plugin_dir, **slurm.env)
    p = rlvr("submit", "slurm", "--", *tiny_run, "rollout.num_workers=two", env=env, cwd=tmp_path)
    assert p.returncode == 2
    assert "config error" in p.stderr and "rollout.num_workers" in p.stderr
    queue = subprocess.run(["squeue", "-h"], env=env, capture_output=True, text=True)
    assert queue.stdout.strip() == ""


TERMINAL = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT")
# Compared between the uninterrupted and the preempted-then-requeued run (as tests/e2e/test_resume.py).
COMPARED = ("reward/mean", "response/length_mean", "loss/total", "learner/grad_norm")
STEPS = "steps=10"  # ~2 s a step: long enough that a stop after step 1 lands before the last


def _state(job_id: str, env: dict, cwd: Path) -> str:
    return rlvr("jobs", "status", job_id, env=env, cwd=cwd).stdout.strip()


def _wait_done(job_id: str, env: dict, cwd: Path, timeout: float) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = _state(job_id, env, cwd)
        if state in TERMINAL:
            return state
        time.sleep(2)
    raise TimeoutError(f"job {job_id} not done in {timeout} s")


def _submit(env: dict, cwd: Path, run: list[str], run_dir: Path, *args: str) -> str:
    p = rlvr("submit", "slurm", *args, "--", *run, f"hydra.run.dir={run_dir}", env=env, cwd=cwd)
    assert p.returncode == 0, p.stderr
    job_id = p.stdout.split("submitted Slurm job ")[1].split()[0]
    assert f"log: {run_dir}/slurm-{job_id}.out" in p.stdout
    return job_id


def _wait_first_step(run_dir: Path, job_id: str, env: dict, cwd: Path, timeout: float = 900) -> float:
    start, metrics = time.time(), run_dir / "metrics.jsonl"
    while time.time() - start < timeout:
        if metrics.exists() and metrics.read_text():
            return time.time()
        if _state(job_id, env, cwd) in TERMINAL:
            break
        time.sleep(0.3)
    log = rlvr("jobs", "logs", job_id, env=env, cwd=cwd).stdout
    raise AssertionError(f"job {job_id} wrote no metrics:\n{log[-4000:]}")


def _rows(run_dir: Path) -> dict[int, dict]:
    return {r["step"]: r for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())}


@pytest.fixture(scope="module")
def slurm_env(slurm, rlvr_cache, plugin_dir):
    return cli_env(rlvr_cache, plugin_dir, **slurm.env)


@pytest.fixture(scope="module")
def slurm_run(tiny_run) -> list[str]:
    return [*(o for o in tiny_run if not o.startswith("steps=")), STEPS]


@pytest.fixture(scope="module")
def uninterrupted(slurm_env, slurm_run, tmp_path_factory):
    """One 10-step GRPO job run to completion; the reference for the preemption test."""
    cwd = tmp_path_factory.mktemp("submit")
    run_dir = cwd / "run"
    start = time.time()
    job_id = _submit(slurm_env, cwd, slurm_run, run_dir)
    first_step = _wait_first_step(run_dir, job_id, slurm_env, cwd) - start
    state = _wait_done(job_id, slurm_env, cwd, timeout=900)
    print(f"\nSlurm: submit-to-first-step {first_step:.1f} s, submit-to-end {time.time() - start:.1f} s")
    return run_dir, job_id, state, cwd


@pytest.mark.slow
def test_submitted_grpo_run_completes(uninterrupted, slurm_env):
    run_dir, job_id, state, cwd = uninterrupted
    log = rlvr("jobs", "logs", job_id, env=slurm_env, cwd=cwd).stdout
    assert state == "COMPLETED", log[-4000:]
    # One rollout worker and one learner rank: the job must ask for 2 CPUs, not Slurm's default 1.
    assert "#SBATCH --cpus-per-task=2" in (run_dir / "job.sbatch").read_text()
    assert sorted(_rows(run_dir)) == list(range(1, 11))
    assert (run_dir / "final" / "model.safetensors").exists()
    assert "trainer exited with code 0" in log
    listed = rlvr("jobs", "list", env=slurm_env, cwd=cwd).stdout
    assert any(job_id in line and "COMPLETED" in line for line in listed.splitlines())


@pytest.mark.slow
def test_stopped_job_checkpoints_requeues_and_resumes_to_the_same_metrics(
    uninterrupted, slurm_env, slurm_run, tmp_path
):
    run_dir = tmp_path / "run"
    job_id = _submit(slurm_env, tmp_path, slurm_run, run_dir, "--requeue")
    _wait_first_step(run_dir, job_id, slurm_env, tmp_path)
    stop = rlvr("jobs", "stop", job_id, env=slurm_env, cwd=tmp_path)
    assert stop.returncode == 0, stop.stderr
    state = _wait_done(job_id, slurm_env, tmp_path, timeout=1200)
    log = rlvr("jobs", "logs", job_id, env=slurm_env, cwd=tmp_path).stdout
    assert state == "COMPLETED", log[-4000:]
    assert "trainer exited with code 75" in log, log[-4000:]  # the SIGTERM checkpoint
    assert "resumed from" in (run_dir / "train.log").read_text()
    assert "trainer exited with code 0" in log  # the requeued run finished
    a, b = _rows(uninterrupted[0]), _rows(run_dir)
    assert sorted(b) == list(range(1, 11))
    for step, row in a.items():
        for metric in COMPARED:
            assert b[step][metric] == pytest.approx(row[metric], rel=1e-4, abs=1e-6), (step, metric)
