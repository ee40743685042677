"""The `gpu` extra resolves on PyPI to the tested vllm/torch pair, beside the torch we pin.

`pip install --dry-run --report` against PyPI itself (`--isolated`: no local wheel folders,
indexes or constraints of this machine), as a GPU machine or CI would resolve it. Skipped, with
the reason, only when PyPI cannot be reached.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]
TESTED = {"vllm": "0.32.0", "torch": "2.13.0"}


def _project() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def _pin(requirements: list[str], name: str) -> str:
    (req,) = [r for r in requirements if re.match(rf"{name}\s*[=<>!~\[;]", r)]
    return req


def test_gpu_extra_and_torch_pin_name_the_tested_pair():
    project = _project()
    assert _pin(project["optional-dependencies"]["gpu"], "vllm") == f"vllm=={TESTED['vllm']}"
    assert _pin(project["dependencies"], "torch") == f"torch=={TESTED['torch']}"
    assert project["requires-python"].split("#")[0].strip() == ">=3.11"


def _pypi_reachable() -> str | None:
    try:
        urllib.request.urlopen("https://pypi.org/simple/vllm/", timeout=10).close()
        return None
    except OSError as e:
        return f"PyPI unreachable ({e.__class__.__name__}: {e})"


def _resolve(requirements: list[str], tmp_path: Path) -> dict[str, dict]:
    """pip's own resolution of `requirements` for Linux x86-64 / CPython 3.11, one level deep.

    `--no-deps`: the full tree drags in CUDA torch and nvidia-* wheels, and pip fetched 6.7 GB
    resolving it here; one level reads only metadata (about 30 s). The levels below are checked
    by pinning: each resolved package's torch requirement must be our torch pin.
    """
    tmp_path.mkdir(parents=True, exist_ok=True)
    report = tmp_path / "report.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--isolated",  # PyPI itself: none of this machine's wheel folders, indexes or constraints
            "--dry-run",
            "--no-deps",
            "--ignore-installed",
            "--quiet",
            "--python-version",
            "3.11",
            "--only-binary=:all:",
            "--platform",
            "manylinux_2_28_x86_64",
            "--report",
            str(report),
            *requirements,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {i["metadata"]["name"].lower(): i["metadata"] for i in json.loads(report.read_text())["install"]}


def _torch_pins(metadata: dict) -> list[str]:
    reqs = [
        r.split(";")[0].replace(" ", "").replace("(", "").replace(")", "")
        for r in metadata.get("requires_dist", [])
    ]
    return [r[len("torch") :] for r in reqs if re.match(r"torch[=<>!~]", r)]


@pytest.mark.slow
@pytest.mark.timeout(1300)
def test_gpu_extra_resolves_on_pypi_to_the_tested_pair(tmp_path):
    reason = _pypi_reachable()
    if reason:
        pytest.skip(reason)
    project = _project()
    torch_pin = _pin(project["dependencies"], "torch")
    resolved = _resolve([*project["optional-dependencies"]["gpu"], torch_pin], tmp_path)
    assert resolved["vllm"]["version"] == TESTED["vllm"]
    assert resolved["torch"]["version"] == TESTED["torch"]
    vllm = resolved["vllm"]
    # vllm itself pins that torch: the pair holds whatever installs first.
    assert _torch_pins(vllm) == [f"=={TESTED['torch']}"]
    assert vllm["requires_python"].replace(" ", "").split(",").count(">=3.11") == 1
    # vllm's torch-family pins (torchvision, torchaudio, ...) must not pull another torch either.
    family = [
        r.split(";")[0].replace(" ", "")
        for r in vllm.get("requires_dist", [])
        if re.match(r"torch\w+\s*[=<>~]", r) and "extra ==" not in r
    ]
    assert family, "vllm names no torchvision/torchaudio pins: has its metadata changed?"
    for name, meta in _resolve(family, tmp_path / "family").items():
        assert all(pin == f"=={TESTED['torch']}" for pin in _torch_pins(meta)), (name, _torch_pins(meta))
