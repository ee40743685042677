"""Trainer state beside the learner's DeepSpeed checkpoint: step, data and bank positions; the
newest-N retention; and the preemption protocol (SIGTERM -> checkpoint -> exit code 75)."""

from __future__ import annotations

import json
import logging
import shutil
import signal
import threading
from pathlib import Path

log = logging.getLogger(__name__)

STATE = "trainer_state.json"
# `rlvr train`'s exit code after a SIGTERM checkpoint: EX_TEMPFAIL, "try again" (a requeued or
# resubmitted job with resume=auto continues). Distinct from 1 (an error) and 128+15 (killed).
PREEMPTED_EXIT_CODE = 75


class Preempted(Exception):
    """Raised by `Trainer.run` after it wrote a checkpoint because a stop was requested."""

    def __init__(self, checkpoint: Path, step: int) -> None:
        super().__init__(
            f"stopped by SIGTERM after step {step}; checkpoint {checkpoint}; resume with resume=auto"
        )
        self.checkpoint = checkpoint
        self.step = step


class StopRequest:
    """Context manager turning SIGTERM into a flag the training loop checks between steps.

    Slurm (preemption, time limit, scancel) and Ray's Jobs API send SIGTERM before SIGKILL. The
    handler must be installed after `ray.init`: Ray's core worker installs one that aborts the
    process on SIGTERM. Off the main thread (where Python cannot install handlers) it does nothing.
    """

    def __init__(self, signals: tuple[int, ...] = (signal.SIGTERM,)) -> None:
        self.signals = signals
        self.requested = False
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        if not self.requested:
            log.warning("got %s: finishing this step, then checkpointing", signal.Signals(signum).name)
        self.requested = True

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for s in self.signals:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for s, previous in self._previous.items():
            # None: the previous handler was not Python's (Ray's C++ one); the default is closest.
            signal.signal(s, signal.SIG_DFL if previous is None else previous)
        self._previous = {}


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


def prune_checkpoints(run_dir: Path, keep_last: int) -> list[Path]:
    """Delete all but the newest `keep_last` complete checkpoints, and incomplete ones older than
    the newest complete one (left by a kill mid-write); returns what was deleted. 0 keeps all."""
    if keep_last < 0:
        raise ValueError(f"checkpoint_keep_last must be >= 0, got {keep_last}")
    if keep_last == 0:
        return []
    dirs = sorted((run_dir / "checkpoints").glob("step_*"))
    complete = [p for p in dirs if (p / STATE).exists()]
    if not complete:
        return []
    keep = set(complete[-keep_last:])
    doomed = [p for p in dirs if p not in keep and p.name < complete[-1].name]
    for p in doomed:
        shutil.rmtree(p)
    return doomed
