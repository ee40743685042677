"""wandb tracking, online or offline (`wandb sync` uploads an offline run later)."""

from __future__ import annotations

from pathlib import Path


class WandbTracker:
    def __init__(
        self,
        run_dir: str | Path,
        *,
        project: str,
        run_name: str | None,
        config: dict | None,
        mode: str,
        resume: bool,
    ) -> None:
        import wandb

        if mode not in ("online", "offline", "disabled"):
            raise ValueError(f"logger.wandb_mode must be online, offline or disabled, got {mode!r}")
        self._wandb = wandb
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        id_file = run_dir / "wandb_run_id"
        run_id = id_file.read_text().strip() if resume and id_file.exists() else None
        self.run = wandb.init(
            project=project,
            name=run_name,
            dir=str(run_dir),
            config=config,
            mode=mode,
            id=run_id,
            resume="allow" if run_id else None,
        )
        if self.run is not None and getattr(self.run, "id", None):
            id_file.write_text(self.run.id)

    def log(self, metrics, step):
        self.run.log({k: float(v) for k, v in metrics.items()}, step=step)

    def log_curve(self, name, xs, ys, step, *, x_label="k", y_label="pass@k"):
        table = self._wandb.Table(
            data=[[float(x), float(y)] for x, y in zip(xs, ys, strict=True)], columns=[x_label, y_label]
        )
        plot = self._wandb.plot.line(table, x_label, y_label, title=f"{name} (step {step})")
        self.run.log({f"{name}/step_{step}": plot}, step=step)

    def close(self):
        self.run.finish()
