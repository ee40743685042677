"""A rich progress bar for the run, showing the latest reward and step time, then one line of the
mean time per phase of a step (generate, verify, reference, learn, sync)."""

from __future__ import annotations

from contextlib import contextmanager

PHASES = ("generate", "verify", "reference", "learn", "sync")


class _Bar:
    def __init__(self, progress, task) -> None:
        self.progress, self.task = progress, task
        self.seconds: dict[str, float] = {}
        self.steps = 0

    def update(self, metrics: dict[str, float], advance: int = 1) -> None:
        if self.progress is None:
            return
        self.steps += advance
        for phase in PHASES:
            if f"time/{phase}" in metrics:
                self.seconds[phase] = self.seconds.get(phase, 0.0) + metrics[f"time/{phase}"]
        info = (
            f"reward {metrics.get('reward/mean', float('nan')):.3f}  "
            f"acc {metrics.get('reward/accuracy', float('nan')):.3f}  "
            f"{metrics.get('time/step', 0.0):.1f}s/step"
        )
        self.progress.update(self.task, advance=advance, info=info)

    def timings(self) -> str | None:
        """'time per step (mean of N): generate 3.1s  verify 0.2s ...', or None before a step."""
        if not self.steps:
            return None
        parts = [f"{p} {self.seconds[p] / self.steps:.1f}s" for p in PHASES if p in self.seconds]
        return f"time per step (mean of {self.steps}): " + "  ".join(parts)


@contextmanager
def progress(total: int, initial: int = 0, enabled: bool = True, description: str = "training"):
    if not enabled:
        yield _Bar(None, None)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
    ) as p:
        task = p.add_task(description, total=total, completed=initial, info="")
        bar = _Bar(p, task)
        yield bar
    line = bar.timings()
    if line:
        p.console.print(line, highlight=False)
