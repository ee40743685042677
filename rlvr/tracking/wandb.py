"""wandb tracking, online or offline (`wandb sync` uploads an offline run later).

The runs-over-training panels (rlvr/tracking/panels.py) go with each run in two forms: every
panel key is declared with `define_metric` (a run's summary keeps its last value, Pass@k also its
best), and RUN/wandb_workspace.json describes the panels as a saved workspace: one section of
LinePlot/BarPlot panels in the shape `wandb_workspaces` takes (docs/evaluation.md shows the five
lines that save it as a workspace view; the file is also saved with the run's files).
"""

from __future__ import annotations

import json
from pathlib import Path

from rlvr.tracking.panels import PANELS, panel_keys

WORKSPACE_FILE = "wandb_workspace.json"
SECTION = "rlvr: runs over training"


def workspace_spec(project: str, eval_n: int | None) -> dict:
    """PANELS as a workspace: LinePlot (x = step, y = the keys, the interval's low/high as lines of
    their own: wandb draws no band for one run) or, for step-0 panels, BarPlot. Pass@n needs
    `eval_n`: without it that panel is left out."""
    panels = []
    for panel in PANELS:
        p = panel.resolve(eval_n)
        if p is None:
            continue
        if p.once:
            panels.append({"type": "BarPlot", "title": p.title, "metrics": list(p.keys)})
        else:
            line = {"type": "LinePlot", "title": p.title, "x": "Step", "y": list(panel_keys(p))}
            if p.y_range is not None:
                line["range_y"] = list(p.y_range)
            panels.append(line)
    return {"name": SECTION, "project": project, "sections": [{"name": SECTION, "panels": panels}]}


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
        eval_n: int | None = None,
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
        self._define_panels(run_dir, project, eval_n)

    def _define_panels(self, run_dir: Path, project: str, eval_n: int | None) -> None:
        for panel in PANELS:
            p = panel.resolve(eval_n)
            for key in () if p is None else panel_keys(p):
                best = key.startswith("eval/pass@") and not key.endswith(("_ci_low", "_ci_high"))
                self.run.define_metric(key, summary="last,max" if best else "last")
        spec = run_dir / WORKSPACE_FILE
        spec.write_text(json.dumps(workspace_spec(project, eval_n), indent=1) + "\n", encoding="utf-8")
        self.run.save(str(spec), base_path=str(run_dir), policy="now")

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
