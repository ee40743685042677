"""A third-party verifier really installed (pip --target, shared venv untouched) and found by name."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = Path(__file__).parent / "example_plugin"
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_installed_plugin_is_found_by_entry_point(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(
        PLUGIN, src, ignore=shutil.ignore_patterns("test_*", "__pycache__")
    )  # keep build files out of the repo
    target = tmp_path / "site"
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
            str(target),
            str(src),
        ],
        check=True,
        timeout=180,
    )
    assert list(target.glob("rlvr_choice_verifier-*.dist-info/entry_points.txt"))
    script = (
        "import json\n"
        "from verifiers import available_verifiers, get_verifier\n"
        "v = get_verifier('choice', letters='ABC', score_format=0.5)\n"
        "r = [v.verify('Answer: (B)', 'B'), v.verify('answer is c', 'B'), v.verify('Answer: D', 'D')]\n"
        "print(json.dumps({'names': available_verifiers(), 'results': [x.to_dict() for x in r]}))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(REPO)])}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    got = json.loads(out.stdout)
    assert "choice" in got["names"]
    assert [(r["reason"], r["score"]) for r in got["results"]] == [
        ("ok", 1.5),
        ("wrong", 0.5),
        ("unparseable", 0.0),
    ]
    # ... and the same name is unknown where the plugin is not installed.
    absent = subprocess.run(
        [sys.executable, "-c", "from verifiers import get_verifier; get_verifier('choice')"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert absent.returncode != 0 and "unknown verifier 'choice'" in absent.stderr
