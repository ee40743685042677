"""JSONL tracking: the machine-readable record of a run that `rlvr report` and tests read."""

from __future__ import annotations

import json
import math
from pathlib import Path


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/Inf; keep them visible instead of failing the run
    return value


class JsonlTracker:
    """metrics.jsonl: one line per step; curves.jsonl: one line per curve."""

    def __init__(self, run_dir: str | Path, *, resume: bool = False, resume_step: int = 0) -> None:
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        files = {}
        for name in ("metrics", "curves"):
            path = run_dir / f"{name}.jsonl"
            kept = (
                [r for r in read_jsonl(path) if r["step"] <= resume_step] if resume and path.exists() else []
            )
            files[name] = open(path, "w", encoding="utf-8")
            for row in kept:
                files[name].write(json.dumps(row) + "\n")
        self._metrics, self._curves = files["metrics"], files["curves"]

    def log(self, metrics, step):
        self._metrics.write(
            json.dumps({"step": step, **{k: _clean(float(v)) for k, v in metrics.items()}}) + "\n"
        )
        self._metrics.flush()

    def log_curve(self, name, xs, ys, step, *, x_label="k", y_label="pass@k"):
        row = {
            "step": step,
            "name": name,
            "x_label": x_label,
            "y_label": y_label,
            "x": [float(x) for x in xs],
            "y": [_clean(float(y)) for y in ys],
        }
        self._curves.write(json.dumps(row) + "\n")
        self._curves.flush()

    def close(self):
        self._metrics.close()
        self._curves.close()


def read_jsonl(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
