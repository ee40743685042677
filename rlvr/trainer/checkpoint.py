"""Trainer state beside the learner's DeepSpeed checkpoint: step, data and bank positions."""

from __future__ import annotations

import json
from pathlib import Path

STATE = "trainer_state.json"


def save_trainer_state(ckpt_dir: Path, state: dict) -> None:
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    tmp = ckpt_dir / (STATE + ".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(ckpt_dir / STATE)  # written last: a checkpoint without it is incomplete and skipped


def load_trainer_state(ckpt_dir: Path) -> dict:
    return json.loads((ckpt_dir / STATE).read_text())


def latest_checkpoint(run_dir: Path) -> Path | None:
    complete = sorted(p for p in (run_dir / "checkpoints").glob("step_*") if (p / STATE).exists())
    return complete[-1] if complete else None
