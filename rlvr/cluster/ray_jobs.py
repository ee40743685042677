"""Ray's Jobs API (`ray.job_submission.JobSubmissionClient`) behind `rlvr submit ray` and `rlvr jobs`.

The job's entrypoint is this installation's `rlvr train` by absolute path (the job's shell has no
venv on its PATH), so every node must see the same path (a shared file system or the same image).
The runtime environment uploads the working directory (minus virtualenvs, VCS data and run
outputs) so relative data paths and local verifier plugins resolve as they do here, and puts it on
PYTHONPATH: a console-script driver does not have its cwd on sys.path.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from rlvr.cluster import records
from rlvr.cluster.auth import enable_token_auth_if_token_given
from rlvr.cluster.submission import Submission

# Never uploaded: environments, VCS data, outputs of earlier runs (Ray caps a package at 500 MiB).
EXCLUDES = [".git", ".venv", "venv", "runs", "outputs", "multirun", "wandb", "__pycache__", "*.egg-info"]
# Forwarded to the job when set here, so the job composes the config that was validated here.
FORWARDED_ENV = ("RLVR_CACHE", "RLVR_RECIPES", "HF_HUB_OFFLINE", "TORCH_EXTENSIONS_DIR")


def client(address: str | None):
    """A Jobs client for http://HEAD:8265 (default: $RAY_API_SERVER_ADDRESS or $RAY_ADDRESS)."""
    enable_token_auth_if_token_given()
    from ray.job_submission import JobSubmissionClient

    address = address or os.environ.get("RAY_API_SERVER_ADDRESS") or os.environ.get("RAY_ADDRESS")
    if not address:
        raise ValueError(
            "no Ray dashboard address: pass --address http://HEAD:8265 or set RAY_API_SERVER_ADDRESS"
        )
    return JobSubmissionClient(address)


def runtime_env(working_dir: Path) -> dict:
    env_vars = {k: os.environ[k] for k in FORWARDED_ENV if os.environ.get(k)}
    # "." is the uploaded working directory, the cwd of the driver and of every actor.
    env_vars["PYTHONPATH"] = os.pathsep.join(
        [".", *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if os.path.isabs(p))]
    )
    return {"working_dir": str(working_dir), "excludes": EXCLUDES, "env_vars": env_vars}


def submit(sub: Submission, address: str | None, *, working_dir: Path | None = None) -> str:
    """Submit `rlvr train` with the submission's overrides; returns the job id (also recorded)."""
    c = client(address)
    job_id = f"{sub.name}-{secrets.token_hex(3)}"
    c.submit_job(
        entrypoint=sub.train_command(),
        submission_id=job_id,
        runtime_env=runtime_env(Path(working_dir or os.getcwd()).resolve()),
        metadata={"run_dir": str(sub.run_dir), "submitted_by": "rlvr"},
    )
    records.add(job_id, "ray", address=c.get_address(), run_dir=str(sub.run_dir))
    return job_id


def status(job_id: str, address: str | None) -> str:
    return str(client(address).get_job_status(job_id).value)


def logs(job_id: str, address: str | None) -> str:
    return client(address).get_job_logs(job_id)


def follow(job_id: str, address: str | None, out=sys.stdout, poll_s: float = 3.0) -> str:
    """Print the job's log as it grows until the job ends; returns its final status.

    Polls status and log (the whole log each time: simple, and the status decides when to stop)
    rather than relying on `tail_job_logs`' stream to end with the job.
    """
    import time

    c = client(address)
    shown = 0
    while True:
        status = c.get_job_status(job_id)  # before the log: a terminal status means the log is complete
        text = c.get_job_logs(job_id)
        out.write(text[shown:])
        out.flush()
        shown = len(text)
        if status.is_terminal():
            return str(status.value)
        time.sleep(poll_s)


def stop(job_id: str, address: str | None) -> bool:
    """Ask Ray to stop the job: its driver gets SIGTERM, and its actors die with the driver."""
    return client(address).stop_job(job_id)


def list_jobs(address: str | None) -> list[dict]:
    return [
        {
            "id": j.submission_id or j.job_id,
            "status": str(j.status.value),
            "run_dir": (j.metadata or {}).get("run_dir", ""),
        }
        for j in client(address).list_jobs()
    ]
