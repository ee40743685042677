"""User errors through the real `rlvr` CLI: one line naming the file/row/key, exit status 2, no
traceback (unless --debug or HYDRA_FULL_ERROR=1); verifier mistakes fail before anything starts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _rlvr(*args: str, tmp_path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rlvr.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "RLVR_CACHE": str(tmp_path / "cache"), **(env or {})},
    )


@pytest.fixture
def bad_jsonl(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"id": "a", "prompt": "1 + 1?", "answer": "2"}\nnot json\n')
    return path


def _train_args(tmp_path, *extra):
    return (
        "train",
        "model=tiny-random",
        "logger.progress=false",
        f"hydra.run.dir={tmp_path / 'run'}",
        *extra,
    )


def test_a_bad_data_row_is_one_line_and_exit_2(tmp_path, bad_jsonl):
    p = _rlvr(*_train_args(tmp_path, "data=jsonl", f"data.train={bad_jsonl}"), tmp_path=tmp_path)
    assert p.returncode == 2, p.stderr[-2000:]
    errors = [line for line in p.stderr.splitlines() if "error" in line.lower()]
    assert errors == [
        f"rlvr train: error: {bad_jsonl}:2: invalid JSON (Expecting value)  "
        "(rlvr --debug train ... shows the traceback)"
    ]
    assert "Traceback" not in p.stderr


def test_debug_shows_the_traceback(tmp_path, bad_jsonl):
    p = _rlvr(
        *_train_args(tmp_path, "data=jsonl", f"data.train={bad_jsonl}"),
        tmp_path=tmp_path,
        env={"HYDRA_FULL_ERROR": "1"},
    )
    assert p.returncode != 0 and "Traceback" in p.stderr and "invalid JSON" in p.stderr


def test_verifier_mistakes_fail_before_ray_starts(tmp_path):
    p = _rlvr(*_train_args(tmp_path, "verifier.name=mathh"), tmp_path=tmp_path)
    assert p.returncode == 2 and "unknown verifier 'mathh'" in p.stderr and "known verifiers: " in p.stderr
    p = _rlvr(*_train_args(tmp_path, "+verifier.options.extrakt=boxed"), tmp_path=tmp_path)
    assert p.returncode == 2, p.stderr[-2000:]
    assert "unknown option(s) extrakt for verifier 'math'" in p.stderr and "Traceback" not in p.stderr
    assert "Ray" not in p.stdout + p.stderr  # nothing was started


def test_a_missing_data_file_in_rlvr_eval(tmp_path):
    p = _rlvr(
        "eval",
        "--run-dir",
        str(tmp_path / "ev"),
        "model=tiny-random",
        "data=jsonl",
        f"data.train={tmp_path / 'nope.jsonl'}",
        f"data.test={tmp_path / 'nope.jsonl'}",
        tmp_path=tmp_path,
    )
    assert p.returncode == 2 and "nope.jsonl does not exist" in p.stderr and "Traceback" not in p.stderr


def test_a_missing_model_folder_in_rlvr_eval(tmp_path):
    missing = tmp_path / "moved" / "final"
    p = _rlvr("eval", "--model", str(missing), "--run-dir", str(tmp_path / "ev"), tmp_path=tmp_path)
    assert p.returncode == 2 and f"--model {missing}: no such model folder" in p.stderr
    assert "Traceback" not in p.stderr


def test_run_dir_is_where_the_run_goes_and_dict_fields_take_plain_overrides(tmp_path):
    from rlvr.cli.train import run_dir_overrides
    from rlvr.config import compose_config

    assert run_dir_overrides(["run_dir=/x", "steps=2"]) == ["hydra.run.dir=/x", "steps=2"]
    assert run_dir_overrides(["--multirun", "run_dir=/x"]) == ["--multirun", "hydra.sweep.dir=/x"]
    cfg = compose_config(
        ["data.where={level: [1, 2]}", "verifier.options.extract=boxed", "divergence.params.alpha=0.3"]
    )
    assert cfg.data.where == {"level": [1, 2]} and cfg.verifier.options == {"extract": "boxed"}
    with pytest.raises(Exception, match="wher"):
        compose_config(["data.wher=1"])  # the rest of the config still refuses unknown keys
    p = _rlvr(
        "train", "model=tiny-random", f"run_dir={tmp_path / 'mine'}", "--cfg", "hydra", tmp_path=tmp_path
    )
    assert p.returncode == 0 and f"dir: {tmp_path / 'mine'}" in p.stdout
