"""A rich progress bar for the run, showing the latest reward and step time."""

from __future__ import annotations

from contextlib import contextmanager


class _Bar:
    def __init__(self, progress, task) -> None:
        self.progress, self.task = progress, task

    def update(self, metrics: dict[str, float], advance: int = 1) -> None:
        if self.progress is None:
            return
        info = (
            f"reward {metrics.get('reward/mean', float('nan')):.3f}  "
            f"acc {metrics.get('reward/accuracy', float('nan')):.3f}  "
            f"{metrics.get('time/step', 0.0):.1f}s/step"
        )
        self.progress.update(self.task, advance=advance, info=info)


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
        yield _Bar(p, task)
