"""`rlvr train --multirun` sweeps: each job trains through the real CLI and leaves its own run dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent
DRIVER = "import sys, parity; parity.register(); from rlvr.cli import main; sys.exit(main(sys.argv[1:]))"


def test_multirun_sweeps_algorithms(overrides, bank_dir, tmp_path):
    args = [
        o
        for o in overrides(f"bank.path={bank_dir}", "steps=1", "eval.n=0", "cluster.num_cpus=8")
        if not o.startswith("run_dir=")
    ]
    sweep = tmp_path / "sweep"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    p = subprocess.run(
        [
            sys.executable,
            "-c",
            DRIVER,
            "train",
            "--multirun",
            "algorithm=grpo,dph",
            *args,
            f"hydra.sweep.dir={sweep}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert p.returncode == 0, (p.stdout + p.stderr)[-3000:]
    runs = sorted(d for d in sweep.iterdir() if d.is_dir() and (d / "metrics.jsonl").exists())
    assert [d.name for d in runs] == ["0_grpo_none", "1_dph_js"]
    steps = {}
    for d in runs:
        rows = [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines()]
        steps[d.name] = [r for r in rows if "loss/total" in r]
        assert [r["step"] for r in steps[d.name]] == [1]
        assert (d / "final" / "config.json").exists()
        # what the model answered, one line per prompt of the step (logger.samples)
        samples = [json.loads(line) for line in (d / "samples.jsonl").read_text().splitlines()]
        assert len(samples) == 4 and {s["kind"] for s in samples} == {"train"}
        assert all(s["step"] == 1 and s["response"] is not None and "reason" in s for s in samples)
    assert "loss/divergence" in steps["1_dph_js"][0] and "loss/divergence" not in steps["0_grpo_none"][0]
    # DPH-RL files its D_pef/D_exp split at step 0
    first = json.loads((runs[1] / "metrics.jsonl").read_text().splitlines()[0])
    assert first["step"] == 0 and first["bank/pef_prompts"] + first["bank/exp_prompts"] == 8
