"""Checkpoint retention and the SIGTERM stop flag (rlvr.trainer.checkpoint), without a trainer."""

from __future__ import annotations

import os
import signal

import pytest

from rlvr.trainer.checkpoint import (
    STATE,
    StopRequest,
    latest_checkpoint,
    prune_checkpoints,
    save_trainer_state,
)


def _ckpt(run, step, complete=True):
    d = run / "checkpoints" / f"step_{step:06d}"
    (d / "learner").mkdir(parents=True)
    if complete:
        save_trainer_state(d, {"step": step})
    return d


def test_keep_last_keeps_the_newest_complete_ones(tmp_path):
    for s in (1, 2, 3, 4):
        _ckpt(tmp_path, s)
    _ckpt(tmp_path, 5, complete=False)  # being written (or killed mid-write): newer than all, kept
    deleted = prune_checkpoints(tmp_path, keep_last=2)
    assert [p.name for p in deleted] == ["step_000001", "step_000002"]
    left = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert left == ["step_000003", "step_000004", "step_000005"]
    assert latest_checkpoint(tmp_path).name == "step_000004"


def test_incomplete_checkpoints_older_than_the_latest_are_removed(tmp_path):
    _ckpt(tmp_path, 1)
    _ckpt(tmp_path, 2, complete=False)
    _ckpt(tmp_path, 3)
    prune_checkpoints(tmp_path, keep_last=5)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step_000001", "step_000003"]
    assert (tmp_path / "checkpoints" / "step_000003" / STATE).exists()


def test_keep_last_zero_keeps_everything_and_negative_is_refused(tmp_path):
    for s in (1, 2):
        _ckpt(tmp_path, s)
    assert prune_checkpoints(tmp_path, 0) == []
    assert len(list((tmp_path / "checkpoints").iterdir())) == 2
    with pytest.raises(ValueError, match="checkpoint_keep_last"):
        prune_checkpoints(tmp_path, -1)


def test_sigterm_sets_the_flag_instead_of_killing_and_the_handler_is_restored():
    before = signal.getsignal(signal.SIGTERM)
    with StopRequest() as stop:
        assert not stop.requested
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested  # still alive: the handler ran
    assert signal.getsignal(signal.SIGTERM) == before
