"""A run killed after a checkpoint and resumed reproduces the uninterrupted run's metrics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent

# A user's driver script: register a verifier in-process, then run the `rlvr` CLI.
DRIVER = "import sys, parity; parity.register(); from rlvr.cli import main; sys.exit(main(sys.argv[1:]))"
# The same driver, holding the run right after its step-2 checkpoint until the test kills it: on a
# fast machine a run polled from outside could write step 4's checkpoint before the kill landed.
HOLDING_DRIVER = (
    "import time\n"
    "from rlvr.trainer.trainer import Trainer\n"
    "save = Trainer.save_checkpoint\n"
    "def save_then_hold(self):\n"
    "    ckpt = save(self)\n"
    "    while self.step_count == 2:\n"
    "        time.sleep(1)\n"
    "    return ckpt\n"
    "Trainer.save_checkpoint = save_then_hold\n" + DRIVER.replace("; ", "\n")
)
COMPARED = (
    "reward/mean",
    "reward/accuracy",
    "response/length_mean",
    "loss/total",
    "loss/divergence",
    "learner/grad_norm",
    "divergence/value",
    "eval/pass@1",
    "eval/pass@4",
    "rollout/staleness",
)


def _train(args: list[str], driver: str = DRIVER, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [sys.executable, "-c", driver, "train", *args],
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,
    )


def _rows(run: Path) -> dict[tuple, dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    # Steps have a training row and (at the start and end) an eval row: key them apart.
    return {(r["step"], "eval/pass@1" in r): r for r in rows}


# max_staleness=1: the checkpoint also holds the batch generated ahead, which the resumed run learns.
@pytest.mark.parametrize("max_staleness", [0, 1])
def test_killed_run_resumes_to_the_same_metrics(overrides, bank_dir, tmp_path, max_staleness):
    common = [
        o
        for o in overrides(
            "algorithm=dph",
            "divergence=js",
            f"bank.path={bank_dir}",
            "steps=4",
            "checkpoint_every=1",
            "cluster.num_cpus=8",
            f"rollout.max_staleness={max_staleness}",
        )
        if not o.startswith("run_dir=")
    ]
    full, cut = tmp_path / "full", tmp_path / "cut"
    p = _train([*common, f"hydra.run.dir={full}"])
    out, _ = p.communicate(timeout=900)
    assert p.returncode == 0, out[-3000:]

    p = _train([*common, f"hydra.run.dir={cut}"], driver=HOLDING_DRIVER)
    deadline = time.time() + 900
    while not (cut / "checkpoints" / "step_000002" / "trainer_state.json").exists():
        assert p.poll() is None, "the run ended before its step-2 checkpoint"
        assert time.time() < deadline
        time.sleep(0.5)
    os.killpg(p.pid, signal.SIGKILL)  # the driver and everything in its session, mid-run
    p.wait()
    assert not (cut / "checkpoints" / "step_000004").exists()

    p = _train([*common, f"hydra.run.dir={cut}", "resume=true"])
    out, _ = p.communicate(timeout=900)
    assert p.returncode == 0, out[-3000:]

    a, b = _rows(full), _rows(cut)
    assert sorted(a) == sorted(b)
    for key, row in a.items():
        for metric in COMPARED:
            if metric in row:
                assert b[key][metric] == pytest.approx(row[metric], rel=1e-4, abs=1e-6), (key, metric)
