"""TensorBoard tracking (offline dashboards), with the runs-over-training panels as custom scalars."""

from __future__ import annotations

import re
from pathlib import Path

from rlvr.tracking.panels import PANELS

LAYOUT_CATEGORY = "rlvr: runs over training"


def custom_scalar_layout(eval_n: int | None) -> dict:
    """PANELS as `SummaryWriter.add_custom_scalars` takes them: {category: {title: [kind, tags]}}.

    A panel with an interval is a Margin chart (value, low, high: exact tags); the others are
    Multiline charts of their keys (tags are regexes, anchored here). Pass@n needs `eval_n`: without
    it that panel is left out."""
    charts = {}
    for panel in PANELS:
        p = panel.resolve(eval_n)
        if p is None:
            continue
        if p.band is not None:
            charts[p.title] = ["Margin", [p.keys[0], *p.band]]
        else:
            charts[p.title] = ["Multiline", [f"^{re.escape(k)}$" for k in p.keys]]
    return {LAYOUT_CATEGORY: charts}


class TensorBoardTracker:
    def __init__(self, log_dir: str | Path, *, eval_n: int | None = None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(log_dir))
        # The panels' layout, once at the start (a resumed run writes the same again): TensorBoard
        # merges the layouts of all runs under --logdir, so its Custom Scalars tab compares them.
        self.writer.add_custom_scalars(custom_scalar_layout(eval_n))

    def log(self, metrics, step):
        for k, v in metrics.items():
            self.writer.add_scalar(k, float(v), step)

    def log_curve(self, name, xs, ys, step, *, x_label="k", y_label="pass@k"):
        # TensorBoard has no x-y line chart for arbitrary x: draw the curve as a figure, and also
        # keep each point as a scalar so that e.g. pass@16 can be followed across steps.
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.plot(list(xs), list(ys), marker="o", markersize=3)
        ax.set_xscale("log", base=2)
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        ax.set_title(f"{name} (step {step})")
        ax.grid(True, alpha=0.3)
        self.writer.add_figure(name, fig, step)
        plt.close(fig)
        for x, y in zip(xs, ys, strict=True):
            self.writer.add_scalar(f"{name}/{y_label}@{int(x)}", float(y), step)

    def close(self):
        self.writer.flush()
        self.writer.close()
