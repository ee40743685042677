"""`rlvr submit slurm` and `rlvr jobs` against a real single-node Slurm cluster."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TINY_RUN, cli_env

REPO = Path(__file__).resolve().parents[2]
RLVR = str(Path(sys.executable).with_name("rlvr"))


def rlvr(*args: str, env: dict, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([RLVR, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_example_script_is_the_rendered_template():
    from rlvr.cluster.slurm import example_script

    assert (REPO / "slurm" / "ray_cluster.sbatch").read_text() == example_script(), (
        "slurm/ray_cluster.sbatch is out of date: python -m rlvr.cluster.slurm example > slurm/ray_cluster.sbatch"
    )


def test_dry_run_prints_a_valid_script_with_the_run(rlvr_cache, tmp_path):
    env = cli_env(rlvr_cache)
    p = rlvr(
        "submit",
        "slurm",
        "--nodes",
        "2",
        "--time",
        "1:00:00",
        "--dry-run",
        "--",
        *TINY_RUN,
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


def test_bad_override_fails_at_submission(slurm, rlvr_cache, tmp_path):
    env = cli_env(rlvr_cache, **slurm.env)
    p = rlvr("submit", "slurm", "--", *TINY_RUN, "rollout.num_workers=two", env=env, cwd=tmp_path)
    assert p.returncode == 2
    assert "config error" in p.stderr and "rollout.num_workers" in p.stderr
    queue = subprocess.run(["squeue", "-h"], env=env, capture_output=True, text=True)
    assert queue.stdout.strip() == ""


def _wait_done(job_id: str, env: dict, cwd: Path, timeout: float) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = rlvr("jobs", "status", job_id, env=env, cwd=cwd).stdout.strip()
        if state in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"):
            return state
        time.sleep(2)
    raise TimeoutError(f"job {job_id} not done in {timeout} s")


@pytest.mark.slow
def test_submitted_grpo_run_completes(slurm, rlvr_cache, tmp_path):
    env = cli_env(rlvr_cache, **slurm.env)
    run_dir = tmp_path / "run"
    start = time.time()
    p = rlvr("submit", "slurm", "--", *TINY_RUN, f"hydra.run.dir={run_dir}", env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    # One rollout worker and one learner rank: the job must ask for 2 CPUs, not Slurm's default 1.
    assert "#SBATCH --cpus-per-task=2" in (run_dir / "job.sbatch").read_text()
    job_id = p.stdout.split("submitted Slurm job ")[1].split()[0]
    assert f"log: {run_dir}/slurm-{job_id}.out" in p.stdout
    metrics = run_dir / "metrics.jsonl"
    first_step = None
    deadline = time.time() + 900
    while first_step is None and time.time() < deadline:
        if metrics.exists() and metrics.read_text():
            first_step = time.time() - start
        elif rlvr("jobs", "status", job_id, env=env, cwd=tmp_path).stdout.strip() in ("FAILED", "COMPLETED"):
            break
        time.sleep(0.5)
    state = _wait_done(job_id, env, tmp_path, timeout=900)
    log = rlvr("jobs", "logs", job_id, env=env, cwd=tmp_path).stdout
    assert state == "COMPLETED", log[-4000:]
    print(f"\nSlurm: submit-to-first-step {first_step:.1f} s, submit-to-end {time.time() - start:.1f} s")
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    assert (run_dir / "final" / "model.safetensors").exists()
    assert "trainer exited with code 0" in log
    listed = rlvr("jobs", "list", env=env, cwd=tmp_path).stdout
    assert any(job_id in line and "COMPLETED" in line for line in listed.splitlines())
