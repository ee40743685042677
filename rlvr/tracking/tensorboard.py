"""TensorBoard tracking (offline dashboards)."""

from __future__ import annotations

from pathlib import Path


class TensorBoardTracker:
    def __init__(self, log_dir: str | Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(log_dir))

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
