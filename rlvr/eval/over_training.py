"""`rlvr report`'s runs-over-training panels: the data of each seed group per panel, as SVG and PNG.

The panels are rlvr/tracking/panels.py's PANELS, the ones TensorBoard and wandb show. Training
metrics come from each run's metrics.jsonl: a seed group's line is the mean over its seeds at the
steps all of them logged, its band the range over the seeds. Evaluation metrics (Pass@k) come from
eval/step_N.json, summarized like the final curves: a group's value is the mean over seeds and
its band the 95% bootstrap over problems of the per-problem mean over seeds (for one run: the
interval the trainer logged as eval/pass@k_ci_low/high).
"""

from __future__ import annotations

import html
import math
import textwrap
from dataclasses import dataclass, field

from rlvr.eval.runs import Run, summarize
from rlvr.tracking.panels import PANELS, Panel

BAND_OPACITY = 0.18


@dataclass
class Trace:
    """One line of one panel: a seed group's `key` over steps."""

    run: str  # the group's label, as in the report's table (the page's run toggles use it)
    key: str
    color: str
    dashed: bool
    values: dict[int, float]
    band: dict[int, tuple[float, float]] = field(default_factory=dict)


@dataclass
class PanelData:
    panel: Panel
    title: str  # {n} filled in (with each n when groups were evaluated with different n)
    y_label: str
    keys: tuple[str, ...]  # the panel's keys, {n} filled in likewise
    traces: list[Trace]
    missing: list[str]  # groups that logged none of the panel's keys


def _eval_rows(label: str, runs: list[Run], *, resamples: int, seed: int) -> dict[str, dict[int, float]]:
    """eval/pass@k and its interval keys per step, from the evaluations every run of the group has."""
    steps = sorted(set.intersection(*[{s for s, _ in r.evals} for r in runs]))
    out: dict[str, dict[int, float]] = {}
    for step in steps:
        evals = [dict(r.evals)[step] for r in runs]
        curve = summarize(label, runs, [(step, e) for e in evals], resamples=resamples, seed=seed)
        for k, v in curve.pass_at_k.items():
            out.setdefault(f"eval/pass@{k}", {})[step] = v
        for k, (low, high) in curve.ci.items():
            out.setdefault(f"eval/pass@{k}_ci_low", {})[step] = low
            out.setdefault(f"eval/pass@{k}_ci_high", {})[step] = high
    return out


def _seed_mean(runs: list[Run], key: str) -> tuple[dict[int, float], dict[int, tuple[float, float]]]:
    """Mean over the group's runs at the steps all of them logged `key`; band: their range (2+ runs)."""
    series = [r.metrics.get(key, {}) for r in runs]
    steps = sorted(set.intersection(*[set(s) for s in series]))
    values = {s: sum(x[s] for x in series) / len(series) for s in steps}
    band = {s: (min(x[s] for x in series), max(x[s] for x in series)) for s in steps} if len(runs) > 1 else {}
    return values, band


def collect_panels(
    groups: list[tuple[str, list[Run]]], colors: dict[str, str], *, resamples: int, seed: int
) -> list[PanelData]:
    """Every panel of PANELS with one trace per (group, key) that has data; `colors` by group label."""
    rows = {label: _eval_rows(label, runs, resamples=resamples, seed=seed) for label, runs in groups}
    n_of = {
        label: max((int(k.split("@")[1]) for k in rows[label] if k.count("_") == 0), default=None)
        for label, _ in groups
    }
    out = []
    for panel in PANELS:
        traces, missing, ns = [], [], set()
        for label, runs in groups:
            p = panel.resolve(n_of[label])
            if p is None:
                missing.append(label)
                continue
            mine = []
            for i, key in enumerate(p.keys):
                if key.startswith("eval/"):
                    values, band = rows[label].get(key, {}), {}
                    if i == 0 and p.band and p.band[0] in rows[label]:
                        low, high = (rows[label][b] for b in p.band)
                        band = {s: (low[s], high[s]) for s in values if s in low and s in high}
                else:
                    values, band = _seed_mean(runs, key)
                if values:
                    mine.append(Trace(label, key, colors[label], i > 0, values, band if i == 0 else {}))
            if mine:
                traces += mine
                ns.add(n_of[label])
            else:
                missing.append(label)
        fill = ", ".join(str(n) for n in sorted(ns)) if ns else "n"
        out.append(
            PanelData(
                panel,
                panel.title.replace("{n}", fill),
                panel.y_label.replace("{n}", fill),
                tuple(k.replace("{n}", fill) for k in panel.keys),
                traces,
                missing,
            )
        )
    return out


# ------------------------------------------------------------------------------------- drawing
def _fmt(v: float) -> str:
    return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.0f}"


def _y_ticks(data: PanelData) -> list[float]:
    """Round ticks (steps of 1, 2, 2.5 or 5 times a power of ten) covering the panel's values."""
    if data.panel.y_range is not None:
        lo, hi = data.panel.y_range
        return [lo + (hi - lo) * j / 4 for j in range(5)]
    vals = [v for t in data.traces for v in t.values.values()]
    vals += [x for t in data.traces for b in t.band.values() for x in b]
    if data.panel.once:
        vals.append(0.0)
    lo, hi = min(vals), max(vals)
    if hi - lo < 1e-12:
        lo, hi = lo - max(abs(lo) * 0.1, 1e-3), hi + max(abs(hi) * 0.1, 1e-3)
    raw = (hi - lo) / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step + 1e-9) * step
    return [first + step * j for j in range(int(math.ceil((hi - first) / step - 1e-9)) + 1)]


def _y_range(data: PanelData) -> tuple[float, float]:
    ticks = _y_ticks(data)
    return ticks[0], ticks[-1]


def _point_title(t: Trace, step: int) -> str:
    band = t.band.get(step)
    interval = f" [{_fmt(band[0])}, {_fmt(band[1])}]" if band else ""
    return html.escape(f"{t.run} · {t.key} · step {step}: {_fmt(t.values[step])}{interval}")


def svg_panel(data: PanelData, width: int = 460, height: int = 280) -> str:
    """One panel: lines over steps (bands behind), or bars per run for step-0 panels."""
    pad_l, pad_r, pad_t, pad_b = 56, 12, 28, 40
    title = html.escape(data.title)
    head = (
        f'<svg class="panel" data-panel="{title}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">'
        f'<rect width="{width}" height="{height}" fill="white"/>'
        f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">{title}</text>'
    )
    if not data.traces:
        return (
            head + f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#888">'
            "not logged by these runs</text></svg>"
        )
    ticks = _y_ticks(data)
    y0, y1 = ticks[0], ticks[-1]
    ly = lambda v: pad_t + (height - pad_t - pad_b) * (1.0 - (v - y0) / ((y1 - y0) or 1.0))  # noqa: E731
    parts = [head]
    for v in ticks:
        parts.append(
            f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{ly(v):.1f}" y2="{ly(v):.1f}" stroke="#e4e4e4"/>'
            f'<text x="{pad_l - 6}" y="{ly(v) + 4:.1f}" text-anchor="end">{_fmt(v)}</text>'
        )
    parts.append(
        f'<text x="12" y="{(height + pad_t - pad_b) / 2}" transform="rotate(-90 12 {(height + pad_t - pad_b) / 2})" '
        f'text-anchor="middle">{html.escape(data.y_label)}</text>'
    )
    if data.panel.once:
        parts += _bars(data, pad_l, width - pad_r, height - pad_b, ly)
    else:
        parts += _lines(data, pad_l, width - pad_r, height - pad_b, ly)
    parts.append("</svg>")
    return "".join(parts)


def _lines(data: PanelData, x0: float, x1: float, bottom: float, ly) -> list[str]:
    max_step = max(s for t in data.traces for s in t.values) or 1
    lx = lambda s: x0 + (x1 - x0) * s / max_step  # noqa: E731
    parts = []
    for j in range(6):
        s = round(max_step * j / 5)
        parts.append(
            f'<line x1="{lx(s):.1f}" x2="{lx(s):.1f}" y1="28" y2="{bottom}" stroke="#f0f0f0"/>'
            f'<text x="{lx(s):.1f}" y="{bottom + 14}" text-anchor="middle">{s}</text>'
        )
    parts.append(f'<text x="{(x0 + x1) / 2}" y="{bottom + 32}" text-anchor="middle">step</text>')
    for t in data.traces:
        g = [f'<g class="trace" data-run="{html.escape(t.run)}" data-key="{html.escape(t.key)}">']
        if t.band:
            steps = sorted(t.band)
            upper = [f"{lx(s):.1f},{ly(t.band[s][1]):.1f}" for s in steps]
            lower = [f"{lx(s):.1f},{ly(t.band[s][0]):.1f}" for s in reversed(steps)]
            g.append(
                f'<polygon class="step-band" fill="{t.color}" fill-opacity="{BAND_OPACITY}" stroke="none" '
                f'points="{" ".join(upper + lower)}"/>'
            )
        steps = sorted(t.values)
        if len(steps) > 1:
            dash = ' stroke-dasharray="5 3"' if t.dashed else ""
            pts = " ".join(f"{lx(s):.1f},{ly(t.values[s]):.1f}" for s in steps)
            g.append(f'<polyline fill="none" stroke="{t.color}" stroke-width="2"{dash} points="{pts}"/>')
        radius = 2.5 if len(steps) > 1 else 4
        for s in steps:
            g.append(
                f'<circle cx="{lx(s):.1f}" cy="{ly(t.values[s]):.1f}" r="{radius}" fill="{t.color}">'
                f"<title>{_point_title(t, s)}</title></circle>"
            )
        parts.append("".join(g) + "</g>")
    return parts


def _bars(data: PanelData, x0: float, x1: float, bottom: float, ly) -> list[str]:
    runs = list(dict.fromkeys(t.run for t in data.traces))
    keys = list(dict.fromkeys(k for k in data.panel.keys))
    slot = (x1 - x0) / len(runs)
    bar = min(40.0, slot * 0.8 / len(keys))
    parts = []
    for i, run in enumerate(runs):
        g = [f'<g class="trace" data-run="{html.escape(run)}">']
        for t in (t for t in data.traces if t.run == run):
            j = keys.index(t.key)
            value = t.values[min(t.values)]
            x = x0 + slot * i + (slot - bar * len(keys)) / 2 + bar * j
            opacity = 1.0 if j == 0 else 0.45
            g.append(
                f'<rect x="{x:.1f}" y="{ly(value):.1f}" width="{bar:.1f}" height="{bottom - ly(value):.1f}" '
                f'fill="{t.color}" fill-opacity="{opacity}"><title>{_point_title(t, min(t.values))}</title></rect>'
                f'<text x="{x + bar / 2:.1f}" y="{ly(value) - 3:.1f}" text-anchor="middle">{_fmt(value)}</text>'
            )
        g.append(
            f'<text x="{x0 + slot * (i + 0.5):.1f}" y="{bottom + 14}" text-anchor="middle">'
            f"{html.escape(run if len(run) <= 26 else run[:25] + '…')}</text></g>"
        )
        parts.append("".join(g))
    return parts


def caption(data: PanelData) -> str:
    keys = data.keys
    parts = [f"<code>{html.escape(keys[0])}</code>"]
    if len(keys) > 1:
        how = "light" if data.panel.once else "dashed"
        parts.append(f"{how}: " + ", ".join(f"<code>{html.escape(k)}</code>" for k in keys[1:]))
    if data.panel.band:
        parts.append("band: 95% bootstrap over problems")
    elif not data.panel.once:
        parts.append("band (seed groups): range over seeds")
    if data.missing:
        parts.append("not logged by: " + html.escape(", ".join(data.missing)))
    return "; ".join(parts)


def section_html(panels: list[PanelData]) -> str:
    """The report's "Over training" section: every panel with its caption."""
    cells = "".join(f"<figure>{svg_panel(p)}<figcaption>{caption(p)}</figcaption></figure>" for p in panels)
    return (
        "<h2>Over training</h2><p>Each run (seeds grouped: their mean) at every step it logged "
        "(<code>RUN/metrics.jsonl</code>) and every evaluation (<code>RUN/eval/step_N.json</code>). "
        "The same panels are TensorBoard's Custom Scalars and the wandb workspace "
        "(<code>rlvr/tracking/panels.py</code>). Hover a point for its value.</p>"
        f"<div class='grid'>{cells}</div>"
    )


def plot_line(ax, values: dict, band: dict | None, color: str, dashed: bool, **style) -> None:
    """One line of a matplotlib chart (x -> y) with its band (x -> (low, high)) under it, if any."""
    xs = sorted(values)
    ax.plot(xs, [values[x] for x in xs], color=color, linestyle="--" if dashed else "-", **style)
    if band:
        bx = sorted(band)
        ax.fill_between(
            bx, [band[x][0] for x in bx], [band[x][1] for x in bx], color=color, alpha=BAND_OPACITY
        )


def draw_png_panels(axes, panels: list[PanelData]) -> None:
    """The same panels on matplotlib axes (one per panel, in order)."""
    for ax, data in zip(axes, panels, strict=False):
        ax.set_title(data.title, fontsize=10)
        ax.grid(True, alpha=0.3)
        if not data.traces:
            ax.text(0.5, 0.5, "not logged by these runs", ha="center", va="center", transform=ax.transAxes)
            continue
        if data.panel.once:
            runs = list(dict.fromkeys(t.run for t in data.traces))
            width = 0.8 / len(data.panel.keys)
            for t in data.traces:
                j = data.panel.keys.index(t.key)
                ax.bar(
                    runs.index(t.run) + (j - (len(data.panel.keys) - 1) / 2) * width,
                    t.values[min(t.values)],
                    width,
                    color=t.color,
                    alpha=1.0 if j == 0 else 0.45,
                )
            ax.set_xticks(range(len(runs)), [textwrap.fill(r, 18) for r in runs], fontsize=7)
        else:
            for t in data.traces:
                plot_line(
                    ax,
                    t.values,
                    t.band,
                    t.color,
                    t.dashed,
                    marker="o",
                    markersize=2.5,
                    linewidth=1.6,
                    label=t.run if not t.dashed else None,
                )
            ax.set_xlabel("step", fontsize=8)
        ax.set_ylim(*_y_range(data))
        ax.set_ylabel(data.y_label, fontsize=8)
