"""Run tracking behind one interface: JSONL (always), TensorBoard, wandb (online or offline)."""

from rlvr.tracking.base import MultiTracker, Tracker, make_tracker

__all__ = ["MultiTracker", "Tracker", "make_tracker"]
