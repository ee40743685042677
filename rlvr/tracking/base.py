"""The tracker interface and the fan-out to several backends."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol


class Tracker(Protocol):
    def log(self, metrics: dict[str, float], step: int) -> None:
        """Scalars for one training step."""

    def log_curve(
        self,
        name: str,
        xs: Sequence[float],
        ys: Sequence[float],
        step: int,
        *,
        x_label: str = "k",
        y_label: str = "pass@k",
    ) -> None:
        """A whole curve at one step (e.g. the Pass@k curve of an evaluation, k = 1..n)."""

    def close(self) -> None: ...


class MultiTracker:
    def __init__(self, trackers: list[Tracker]) -> None:
        self.trackers = trackers

    def log(self, metrics: dict[str, float], step: int) -> None:
        for t in self.trackers:
            t.log(metrics, step)

    def log_curve(self, name, xs, ys, step, *, x_label="k", y_label="pass@k") -> None:
        for t in self.trackers:
            t.log_curve(name, xs, ys, step, x_label=x_label, y_label=y_label)

    def close(self) -> None:
        for t in self.trackers:
            t.close()


def make_tracker(
    backends: Sequence[str],
    run_dir: str | Path,
    *,
    project: str = "rlvr",
    run_name: str | None = None,
    config: dict | None = None,
    wandb_mode: str = "offline",
    resume: bool = False,
    resume_step: int = 0,
    eval_n: int | None = None,
) -> MultiTracker:
    """Build the trackers named in `backends` (jsonl | tensorboard | wandb), writing under run_dir.

    resume: continue an existing run; rows logged after `resume_step` (the checkpoint resumed from)
    are dropped so that the record matches an uninterrupted run. eval_n: the evaluation's sample
    count, for the Pass@n panel of TensorBoard's and wandb's layouts (rlvr/tracking/panels.py).
    """
    run_dir = Path(run_dir)
    trackers: list[Tracker] = []
    for name in backends:
        if name == "jsonl":
            from rlvr.tracking.jsonl import JsonlTracker

            trackers.append(JsonlTracker(run_dir, resume=resume, resume_step=resume_step))
        elif name == "tensorboard":
            from rlvr.tracking.tensorboard import TensorBoardTracker

            trackers.append(TensorBoardTracker(run_dir / "tensorboard", eval_n=eval_n))
        elif name == "wandb":
            from rlvr.tracking.wandb import WandbTracker

            trackers.append(
                WandbTracker(
                    run_dir,
                    project=project,
                    run_name=run_name,
                    config=config,
                    mode=wandb_mode,
                    resume=resume,
                    eval_n=eval_n,
                )
            )
        else:
            raise ValueError(
                f"unknown logger backend {name!r} in logger.backends; use jsonl, tensorboard or wandb"
            )
    return MultiTracker(trackers)
