"""What `rlvr submit` does before any back-end: validate the overrides, fix the run directory.

A job that waits hours in a queue must not then die on a typo: the overrides are composed into a
TrainConfig here, on the submitting machine, so a bad key or value fails at once with Hydra's
message. The run directory is made absolute (a relative one would land in Ray's temporary
package folder or in Slurm's spool directory) and handed to the job as `hydra.run.dir`.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rlvr.config.schema import TrainConfig


class SubmitError(RuntimeError):
    """A submission refused before it reached the cluster (bad overrides, missing tools)."""


@dataclass
class Submission:
    cfg: TrainConfig  # the composed config, as the job will see it
    overrides: list[str]  # what the job's `rlvr train` gets (run dir included)
    run_dir: Path
    name: str  # job name: rlvr-<algorithm>-<timestamp>

    def train_command(self, rlvr: str | None = None) -> str:
        return shlex.join([rlvr or rlvr_executable(), "train", *self.overrides])


def prepare(overrides: list[str], *, extra: list[str] = (), cwd: Path | None = None) -> Submission:
    """Compose `overrides` (+ back-end `extra` ones, placed first so the user's win) and fix the run dir."""
    from rlvr.config import compose_config

    cwd = Path(cwd or os.getcwd())
    hydra = [o for o in overrides if o.lstrip("+~").startswith("hydra.")]
    config = [*extra, *(o for o in overrides if o not in hydra)]
    try:
        cfg = compose_config(config)
    except Exception as e:  # Hydra/OmegaConf raise many types; all mean "fix your overrides"
        raise SubmitError(f"config error (nothing submitted): {type(e).__name__}: {e}") from e
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    run_dir = None
    for o in hydra:
        key, _, value = o.lstrip("+").partition("=")
        if key == "hydra.run.dir":
            run_dir = Path(value).expanduser()
    if run_dir is None:
        run_dir = Path("runs") / f"{stamp}_{cfg.algorithm.name}_{cfg.divergence.name or 'none'}"
    run_dir = run_dir if run_dir.is_absolute() else cwd / run_dir
    hydra = [o for o in hydra if not o.lstrip("+").startswith("hydra.run.dir=")]
    return Submission(
        cfg=cfg,
        overrides=[*config, *hydra, f"hydra.run.dir={run_dir}"],
        run_dir=run_dir,
        name=f"rlvr-{cfg.algorithm.name}-{stamp.replace('_', '-')}",
    )


def rlvr_executable() -> str:
    """This installation's `rlvr` by absolute path: a job's shell has no venv on its PATH."""
    exe = Path(sys.executable).parent / "rlvr"  # not resolved: a venv's python is a symlink
    if not exe.exists():
        raise SubmitError(f"no `rlvr` script beside {sys.executable}: install rlvr (pip install -e .) first")
    return str(exe)
