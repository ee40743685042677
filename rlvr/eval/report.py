"""`rlvr report RUN_DIR...`: one self-contained HTML page comparing runs, plus a PNG.

Runs that differ only by seed are one line (their mean) with a shaded 95% band (rlvr/eval/runs.py
says what is resampled); the base model (step 0) is dashed. The page holds the final Pass@k
curves on a log2 k axis with the table of every line and its intervals; the runs over training
(rlvr/eval/over_training.py: the panels TensorBoard and wandb show too); the paired differences
(each line minus a baseline, or the pairs asked for) per k with their paired-bootstrap intervals;
and a few samples. Charts are inline SVG drawn here; one short inline script lets the checkboxes
at the top hide and show each line. Nothing is fetched: the page works offline.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from pathlib import Path

from rlvr.eval import over_training
from rlvr.eval.runs import (
    BASE_LABEL,
    Comparison,
    Curve,
    collect_curves,
    comparisons,
    group_curves,
    load_evals,
    load_groups,
)
from rlvr.eval.stats import DEFAULT_RESAMPLES

__all__ = ["COLORS", "collect_curves", "format_interval", "load_evals", "write_report"]

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]
BAND_OPACITY = over_training.BAND_OPACITY


def format_interval(value: float | None, ci=None, digits: int = 3, signed: bool = False) -> str:
    """`0.198 [0.15, 0.25]`: the value, then its interval one digit shorter (the interval's own
    precision is about that of its second digit)."""
    if value is None:
        return "-"
    sign = "+" if signed else ""
    text = f"{value:{sign}.{digits}f}"
    if ci is None:
        return text
    d = max(2, digits - 1)
    return f"{text} [{ci[0]:{sign}.{d}f}, {ci[1]:{sign}.{d}f}]"


@dataclass
class _Series:
    label: str
    color: str
    dashed: bool
    values: dict[int, float]
    band: dict[int, tuple[float, float]]
    run: str = ""  # the line of the table this series belongs to: the page's checkboxes hide it

    def __post_init__(self) -> None:
        self.run = self.run or self.label


def _curve_series(curves: list[Curve]) -> list[_Series]:
    return [
        _Series(c.label, COLORS[i % len(COLORS)], c.label == BASE_LABEL, c.pass_at_k, c.ci)
        for i, c in enumerate(curves)
    ]


def _colors(curves: list[Curve]) -> dict[str, str]:
    return {c.label: COLORS[i % len(COLORS)] for i, c in enumerate(curves)}


def _diff_series(diffs: list[Comparison], curves: list[Curve]) -> list[_Series]:
    """A difference takes its line's color from the chart above, unless an earlier difference
    already has it (the same line against two baselines): then the next free color."""
    color = {c.label: COLORS[i % len(COLORS)] for i, c in enumerate(curves)}
    used: list[str] = []
    out = []
    for d in diffs:
        c = color.get(d.label)
        if c is None or c in used:
            c = next(
                (x for x in COLORS if x not in used and x not in color.values()),
                COLORS[len(used) % len(COLORS)],
            )
        used.append(c)
        out.append(
            _Series(
                f"{d.label} − {d.baseline}",
                c,
                False,
                {k: v[0] for k, v in d.pass_at_k.items()},
                {k: (v[1], v[2]) for k, v in d.pass_at_k.items()},
                run=d.label,
            )
        )
    return out


def svg_chart(
    series: list[_Series],
    *,
    y_range: tuple[float, float] = (0.0, 1.0),
    y_label: str = "pass@k",
    width: int = 720,
    height: int = 420,
    css_class: str = "curve",
) -> str:
    pad_l, pad_r, pad_t, pad_b = 60, 20, 20, 50
    y0, y1 = y_range
    max_k = max(max(s.values) for s in series)
    lx = lambda k: pad_l + (width - pad_l - pad_r) * (math.log2(k) / max(1.0, math.log2(max_k)))  # noqa: E731
    ly = lambda v: pad_t + (height - pad_t - pad_b) * (1.0 - (v - y0) / (y1 - y0))  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    for j in range(5):
        v = y0 + (y1 - y0) * j / 4
        stroke = "#888" if y0 < 0 < y1 and abs(v) < 1e-12 else "#ddd"
        parts.append(
            f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{ly(v):.1f}" y2="{ly(v):.1f}" stroke="{stroke}"/>'
            f'<text x="{pad_l - 8}" y="{ly(v) + 4:.1f}" text-anchor="end">{_tick(v)}</text>'
        )
    k = 1
    while k <= max_k:
        parts.append(
            f'<line x1="{lx(k):.1f}" x2="{lx(k):.1f}" y1="{pad_t}" y2="{height - pad_b}" stroke="#eee"/>'
            f'<text x="{lx(k):.1f}" y="{height - pad_b + 16}" text-anchor="middle">{k}</text>'
        )
        k *= 2
    parts.append(
        f'<text x="{(width + pad_l) / 2}" y="{height - 10}" text-anchor="middle">k (samples)</text>'
        f'<text x="16" y="{height / 2}" transform="rotate(-90 16 {height / 2})" '
        f'text-anchor="middle">{html.escape(y_label)}</text>'
    )
    for s in series:  # bands first, so no band covers a line
        if s.band:
            ks = sorted(s.band)
            upper = [f"{lx(k):.1f},{ly(s.band[k][1]):.1f}" for k in ks]
            lower = [f"{lx(k):.1f},{ly(s.band[k][0]):.1f}" for k in reversed(ks)]
            parts.append(
                f'<polygon class="band" data-label="{html.escape(s.label)}" data-run="{html.escape(s.run)}" '
                f'fill="{s.color}" fill-opacity="{BAND_OPACITY}" stroke="none" points="{" ".join(upper + lower)}"/>'
            )
    for i, s in enumerate(series):
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        pts = " ".join(f"{lx(k):.1f},{ly(v):.1f}" for k, v in sorted(s.values.items()))
        parts.append(
            f'<polyline class="{css_class}" data-label="{html.escape(s.label)}" data-run="{html.escape(s.run)}" '
            f'fill="none" '
            f'stroke="{s.color}" stroke-width="3"{dash} points="{pts}"/>'
        )
        y = pad_t + 10 + 18 * i
        parts.append(
            f'<line x1="{width - 260}" x2="{width - 230}" y1="{y}" y2="{y}" stroke="{s.color}" stroke-width="3"{dash}/>'
            f'<text x="{width - 222}" y="{y + 4}">{html.escape(s.label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _tick(v: float) -> str:
    """Two decimals, three where two would round (a +-0.15 range has ticks at +-0.075)."""
    return f"{v:.2f}" if abs(v * 100 - round(v * 100)) < 1e-6 else f"{v:.3f}"


def _ks(max_ks: list[int]) -> list[int]:
    top = max(max_ks)
    return sorted({k for k in (1, 2, 4, 8, 16, 32, 64, 128, 256) if k <= top} | set(max_ks))


def _curve_table(curves: list[Curve]) -> str:
    ks = _ks([max(c.pass_at_k) for c in curves])
    head = "".join(f"<th>pass@{k}</th>" for k in ks)
    rows = []
    for c in curves:
        cells = "".join(f"<td>{format_interval(c.pass_at_k.get(k), c.ci.get(k))}</td>" for k in ks)
        seeds = ", ".join("-" if s is None else str(s) for s in c.seeds)  # "-": no stored config
        rows.append(
            f"<tr><td>{html.escape(c.label)}</td><td title='{html.escape(', '.join(c.runs))}'>{seeds}</td>"
            f"<td>{c.step}</td><td>{c.num_problems}</td>{cells}"
            f"<td>{format_interval(c.greedy_accuracy, c.greedy_ci)}</td>"
            f"<td>{format_interval(c.distinct_correct, c.distinct_ci, digits=2)}</td></tr>"
        )
    return (
        f"<table><thead><tr><th>run</th><th>seeds</th><th>step</th><th>problems</th>{head}<th>greedy</th>"
        f"<th>distinct correct</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _diff_cell(v: tuple[float, float, float] | None, digits: int = 3) -> str:
    if v is None:
        return "<td>-</td>"
    text = format_interval(v[0], v[1:], digits=digits, signed=True)
    excludes_zero = v[1] > 0 or v[2] < 0
    return f"<td class='sig'><b>{text}</b></td>" if excludes_zero else f"<td>{text}</td>"


def _diff_table(diffs: list[Comparison]) -> str:
    ks = _ks([max(d.pass_at_k) for d in diffs])
    head = "".join(f"<th>Δ pass@{k}</th>" for k in ks)
    rows = [
        f"<tr><td>{html.escape(d.label)} − {html.escape(d.baseline)}</td><td>{d.num_problems}</td>"
        + "".join(_diff_cell(d.pass_at_k.get(k)) for k in ks)
        + _diff_cell(d.greedy)
        + _diff_cell(d.distinct_correct, digits=2)
        + "</tr>"
        for d in diffs
    ]
    return (
        f"<table><thead><tr><th>difference</th><th>paired problems</th>{head}<th>Δ greedy</th>"
        f"<th>Δ distinct correct</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _diff_range(diffs: list[Comparison]) -> tuple[float, float]:
    """A y range symmetric about zero holding every difference interval, rounded up to 0.05."""
    extreme = max(abs(x) for d in diffs for v in d.pass_at_k.values() for x in v)
    top = max(0.05, math.ceil(extreme * 20 + 1e-9) / 20)
    return -top, top


def _samples_html(run_dirs: list[str | Path], per_kind: int = 4, chars: int = 300) -> str:
    """The last step's and the last evaluation's kept responses of each run (RUN/samples.jsonl)."""
    from rlvr.tracking.samples import SAMPLES_FILE, read_samples

    rows = []
    for run in run_dirs:
        samples = read_samples(Path(run) / SAMPLES_FILE)
        for kind in ("train", "eval"):
            mine = [r for r in samples if r.get("kind") == kind]
            if not mine:
                continue
            last = max(r["step"] for r in mine)
            for r in [r for r in mine if r["step"] == last][:per_kind]:
                cut = lambda t: html.escape(str(t) if len(str(t)) <= chars else str(t)[:chars] + "…")  # noqa: E731
                rows.append(
                    f"<tr><td>{html.escape(Path(run).name)}</td><td>{kind}</td><td>{r['step']}</td>"
                    f"<td style='text-align:left;white-space:pre-wrap'>{cut(r.get('prompt', ''))}</td>"
                    f"<td style='text-align:left;white-space:pre-wrap'>{cut(r.get('response', ''))}</td>"
                    f"<td>{html.escape(str(r.get('reference', '')))}</td><td>{r.get('reward', 0):g}</td>"
                    f"<td>{html.escape(str(r.get('reason', '')))}</td></tr>"
                )
    if not rows:
        return ""
    return (
        "<h2>Samples</h2><p>What the model answered: a few responses of each run's last training step "
        "and last evaluation (all kept ones: <code>RUN/samples.jsonl</code>).</p><table><tr><th>run</th>"
        "<th>kind</th><th>step</th><th>prompt</th><th>response</th><th>reference</th><th>reward</th>"
        "<th>reason</th></tr>" + "".join(rows) + "</table>"
    )


def write_report(
    run_dirs: list[str | Path],
    out: str | Path,
    title: str = "rlvr: Pass@k",
    *,
    baseline: str | None = None,
    pairs: list[tuple[str, str]] | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    markdown: str | Path | None = None,
) -> Path:
    """Write `out` (HTML) and `out` with .png (the same charts, via matplotlib), and with `markdown` its
    tables as Markdown there too. Returns the HTML path.

    Differences: every line minus `baseline` and each (A, B) of `pairs` as A - B (labels as in the
    table); with neither given, every line minus the base model when there is one (and the files
    hold per-problem results)."""
    groups = load_groups(run_dirs)
    curves = group_curves(groups, resamples=resamples, seed=seed)
    # The groups under their lines' labels (a run evaluated only at step 0 is "NAME (step 0)").
    groups = [
        (c.label, runs) for c, (_, runs) in zip(curves[len(curves) - len(groups) :], groups, strict=True)
    ]
    panels = over_training.collect_panels(groups, _colors(curves), resamples=resamples, seed=seed)
    # Old evaluation files carry no per-problem rows to pair: no default comparison then.
    pairable = all(c.table is not None for c in curves)
    if baseline is None and not pairs and curves[0].label == BASE_LABEL and len(curves) > 1 and pairable:
        baseline = BASE_LABEL
    diffs = comparisons(curves, baseline=baseline, pairs=pairs, resamples=resamples, seed=seed)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    any_ci = any(c.ci for c in curves)
    note = (
        "Unbiased pass@k (Chen et al. 2021) at each run's last evaluation; base model dashed. "
        "Runs whose configs differ only by seed are one line: the mean over seeds. "
    )
    if any_ci:
        note += (
            f"Bands and [low, high]: 95% percentile bootstrap over test problems ({resamples} resamples) "
            "of the per-problem mean over seeds; they show problem-sampling noise, not seed-to-seed "
            "training variation. "
        )
    members = [m for c in curves for m in c.members]
    seeds_html = ""
    if members:
        seeds_html = (
            "<h2>Seeds</h2><p>Each seed of a grouped line on its own (its interval: problems only). "
            "Their spread is the seed-to-seed variation the bands above leave out.</p>"
            + _curve_table(members)
        )
    diff_html = ""
    if diffs:
        diff_html = (
            "<h2>Paired differences</h2>"
            + svg_chart(
                _diff_series(diffs, curves), y_range=_diff_range(diffs), y_label="Δ pass@k", css_class="diff"
            )
            + _diff_table(diffs)
            + "<p>Each difference is the mean over the problems both sides were evaluated on (matched by "
            "id) with a paired bootstrap interval: the same resampled problems on both sides. "
            "Bold: the interval excludes 0.</p>"
        )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;margin:24px}table{border-collapse:collapse;margin-top:16px}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right;white-space:nowrap}"
        "td:first-child,th:first-child{text-align:left}"
        ".runs{position:sticky;top:0;background:#fff;padding:8px 0;border-bottom:1px solid #ddd;z-index:1}"
        ".grid{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0;width:460px}"
        "figcaption{font-size:12px;color:#444}"
        f"</style></head><body><h1>{html.escape(title)}</h1>"
        f"{_toggles(curves)}<h2>Pass@k at the last evaluation</h2>"
        f"{svg_chart(_curve_series(curves))}{_curve_table(curves)}<p>{note}</p>{over_training.section_html(panels)}"
        f"{seeds_html}{diff_html}{_samples_html(run_dirs)}<script>{_TOGGLE_JS}</script>"
        "</body></html>"
    )
    out.write_text(page, encoding="utf-8")
    _png(curves, diffs, panels, out.with_suffix(".png"))
    if markdown is not None:
        Path(markdown).write_text(tables_markdown(page), encoding="utf-8")
    return out


def tables_markdown(page: str) -> str:
    """The page's tables (Pass@k, seeds, paired differences; samples left out) as Markdown, each under
    its section heading: what RESULTS.md quotes, cell for cell."""
    parts = []
    for heading, body in re.findall(r"<h2>(.*?)</h2>(.*?)(?=<h2>|<script>)", "<h2>Pass@k</h2>" + page, re.S):
        if heading == "Samples":
            continue
        for table in re.findall(r"<table.*?</table>", body, re.S):
            rows = []
            for row in re.findall(r"<tr.*?</tr>", table, re.S):
                cells = re.findall(r"<t([hd])[^>]*>(.*?)</t[hd]>", row, re.S)
                text = [
                    html.unescape(re.sub(r"<[^>]+>", "", c)).strip().replace("|", "\\|") for _, c in cells
                ]
                rows.append("| " + " | ".join(text) + " |")
                if len(rows) == 1:
                    rows.append("|" + " --- |" * len(text))
            parts.append(f"### {html.unescape(re.sub(r'<[^>]+>', '', heading))}\n\n" + "\n".join(rows))
    return "\n\n".join(parts) + "\n"


# Every element drawn for a line carries data-run="<its label>"; a checkbox hides or shows them all.
_TOGGLE_JS = """
for (const box of document.querySelectorAll("input[data-toggle]")) {
  box.addEventListener("change", () => {
    for (const el of document.querySelectorAll("[data-run]")) {
      if (el.dataset.run === box.dataset.toggle) el.style.display = box.checked ? "" : "none";
    }
  });
}
"""


def _toggles(curves: list[Curve]) -> str:
    boxes = "".join(
        f"<label style='margin-right:14px;white-space:nowrap'><input type='checkbox' checked "
        f"data-toggle='{html.escape(c.label, quote=True)}'> <span style='display:inline-block;width:22px;"
        f"height:4px;vertical-align:middle;background:{color}'></span> {html.escape(c.label)}</label>"
        for c, color in zip(curves, _colors(curves).values(), strict=True)
    )
    return f"<div class='runs'><b>Runs:</b> {boxes}</div>"


def _png(curves: list[Curve], diffs: list[Comparison], panels: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    training = panels
    panels = [(_curve_series(curves), "pass@k", (0.0, 1.0))]
    if diffs:
        panels.append((_diff_series(diffs, curves), "Δ pass@k (paired)", _diff_range(diffs)))
    cols = 4
    rows = 1 + math.ceil(len(training) / cols)
    fig = plt.figure(figsize=(16, 4.4 + 3.4 * (rows - 1)))
    grid = fig.add_gridspec(rows, cols, height_ratios=[1.3] + [1] * (rows - 1))
    top = [fig.add_subplot(grid[0, 2 * i : 2 * i + 2]) for i in range(len(panels))]
    over_training.draw_png_panels(
        [fig.add_subplot(grid[1 + i // cols, i % cols]) for i in range(len(training))], training
    )
    for ax, (series, y_label, y_range) in zip(top, panels, strict=True):
        for s in series:
            over_training.plot_line(ax, s.values, s.band, s.color, s.dashed, label=s.label, linewidth=2)
        if y_range[0] < 0:
            ax.axhline(0.0, color="#888", linewidth=1)
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())  # 1, 2, 4 rather than 2^0, 2^1
        ax.set_ylim(*y_range)
        ax.set_xlabel("k")
        ax.set_ylabel(y_label)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
