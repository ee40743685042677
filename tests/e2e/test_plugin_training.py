"""README's verifier story end to end: a plugin installed by pip (entry point) is a recipe choice,
`verifier=choice`, its options plain overrides, and a run trains with it in pool and Ray modes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "tests" / "verifiers" / "example_plugin"


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plugin")
    src = tmp / "src"
    shutil.copytree(PLUGIN, src, ignore=shutil.ignore_patterns("test_*", "__pycache__"))
    site = tmp / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--target",
            str(site),
            str(src),
        ],
        check=True,
        timeout=180,
    )
    return site


@pytest.fixture(scope="module")
def choice_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "train.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {"id": f"q{i}", "prompt": f"Which letter is number {i % 4 + 1}?", "answer": "ABCD"[i % 4]}
            )
            + "\n"
            for i in range(8)
        )
    )
    return path


@pytest.mark.parametrize("mode", ["pool", "ray"])
def test_a_plugin_verifier_trains_as_a_recipe_choice(mode, plugin_site, choice_data, tmp_path):
    run = tmp_path / "run"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(plugin_site), str(REPO)]),
        "RLVR_CACHE": str(tmp_path / "cache"),
    }
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "rlvr.cli",
            "train",
            "verifier=choice",
            f"verifier.mode={mode}",
            "verifier.options.letters=ABCD",
            "verifier.num_actors=1",
            "model=tiny-random",
            "algorithm=grpo",
            "data=jsonl",
            f"data.train={choice_data}",
            "data.test=null",
            "steps=2",
            "prompts_per_step=4",
            "rollout.sampling.n=4",
            "rollout.sampling.max_tokens=12",
            "eval.n=0",
            "logger.progress=false",
            "cluster.num_cpus=4",
            f"run_dir={run}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert p.returncode == 0, (p.stdout + p.stderr)[-3000:]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss/total" in r] == [1, 2]
    samples = [json.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()]
    # the choice verifier judged them: its reasons, its detail ("no 'Answer: X' found" for gibberish)
    assert samples and {s["reason"] for s in samples} <= {"ok", "wrong", "unparseable"}
    assert any("Answer" in s["detail"] or s["reason"] != "unparseable" for s in samples)
