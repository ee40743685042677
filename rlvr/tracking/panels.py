"""The runs-over-training comparison: one list of panels, drawn by all three dashboards.

`rlvr report` (HTML and PNG), TensorBoard's custom scalars (rlvr/tracking/tensorboard.py) and the
wandb workspace spec (rlvr/tracking/wandb.py) all read PANELS, so the three show the same curves
under the same titles. A panel names metric keys as the trainer logs them (metrics.jsonl, every
backend); `{n}` stands for the evaluation's sample count (`eval.n`): Pass@n is `eval/pass@{n}`.

Runs that did not log a panel's keys (no divergence in a plain GRPO run, no reference bank
outside DPH-RL) leave that panel without their line; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PANELS", "Panel", "panel_keys"]


@dataclass(frozen=True)
class Panel:
    """One chart. keys[0] is the main line; later keys are drawn dashed beside it.

    band: the keys of keys[0]'s 95% interval (low, high), logged beside it; None: no interval
    (a seed group's band in the HTML report is then the range over its seeds).
    once: logged once, at step 0 (the reference bank's D_pef/D_exp sizes): drawn as bars per run.
    y_range: fixed y limits (probabilities), else fitted to the data.
    """

    title: str
    keys: tuple[str, ...]
    y_label: str
    band: tuple[str, str] | None = None
    once: bool = False
    y_range: tuple[float, float] | None = None

    def resolve(self, n: int | None) -> Panel | None:
        """This panel with `{n}` filled in; None when it needs n and n is unknown."""
        if not self.needs_n:
            return self
        if n is None:
            return None
        fill = lambda key: key.replace("{n}", str(n))  # noqa: E731
        return Panel(
            self.title.replace("{n}", str(n)),
            tuple(fill(k) for k in self.keys),
            self.y_label.replace("{n}", str(n)),
            None if self.band is None else (fill(self.band[0]), fill(self.band[1])),
            self.once,
            self.y_range,
        )

    @property
    def needs_n(self) -> bool:
        return any("{n}" in k for k in self.keys)


def _pass_at(k: str) -> Panel:
    key = f"eval/pass@{k}"
    return Panel(
        f"Pass@{k} (eval)",
        (key,),
        f"pass@{k}",
        band=(f"{key}_ci_low", f"{key}_ci_high"),
        y_range=(0.0, 1.0),
    )


PANELS: tuple[Panel, ...] = (
    _pass_at("1"),
    _pass_at("{n}"),
    Panel("Reward (train)", ("reward/mean", "reward/accuracy"), "mean reward; dashed: accuracy"),
    Panel("Policy entropy", ("policy/entropy",), "nats per token"),
    Panel("Divergence", ("divergence/value",), "divergence per token"),
    Panel("Response length", ("response/length_mean",), "tokens (mean)"),
    Panel("D_pef / D_exp prompts", ("bank/pef_prompts", "bank/exp_prompts"), "prompts", once=True),
)


def panel_keys(panel: Panel) -> tuple[str, ...]:
    """Every key the panel reads: its lines, then its interval."""
    return panel.keys + (panel.band or ())
