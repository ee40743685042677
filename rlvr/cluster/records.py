"""The jobs this machine submitted, one JSON line each, so `rlvr jobs` knows their back-end.

Kept in $RLVR_CACHE/jobs.jsonl (default ~/.cache/rlvr). A job missing from it is still reachable
by id with --backend (and --address for Ray).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


def records_path() -> Path:
    return Path(os.path.expanduser(os.environ.get("RLVR_CACHE", "~/.cache/rlvr"))) / "jobs.jsonl"


def add(job_id: str, backend: str, **fields) -> dict:
    row = {"id": job_id, "backend": backend, "submitted": time.strftime("%Y-%m-%dT%H:%M:%S"), **fields}
    path = records_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")
    return row


def all_records() -> list[dict]:
    path = records_path()
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def find(job_id: str) -> dict | None:
    matches = [r for r in all_records() if r["id"] == job_id]
    return matches[-1] if matches else None
