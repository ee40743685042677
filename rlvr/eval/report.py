"""`rlvr report RUN_DIR...`: one self-contained HTML page overlaying Pass@k curves, plus PNGs.

Each run directory holds `eval/step_NNNNNN.json` files (written by `rlvr eval` and the trainer's
periodic evaluation). The page shows, per run, its last evaluation, and the base model (the step-0
evaluation) once; the chart is inline SVG (no scripts, no network) on a log2 k axis.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]


@dataclass
class Curve:
    label: str
    step: int
    pass_at_k: dict[int, float]
    greedy_accuracy: float | None
    distinct_correct: float
    num_problems: int


def load_evals(run_dir: str | Path) -> list[tuple[int, dict]]:
    """(step, eval result dict) of a run, in step order."""
    folder = Path(run_dir) / "eval"
    files = sorted(folder.glob("step_*.json"))
    if not files:
        raise FileNotFoundError(
            f"{run_dir}: no evaluations (eval/step_*.json); run `rlvr eval` or train with eval"
        )
    out = []
    for f in files:
        try:
            out.append((int(f.stem.split("_")[1]), json.loads(f.read_text())))
        except (ValueError, json.JSONDecodeError) as e:
            raise ValueError(f"{f}: not a readable evaluation ({e})") from None
    return out


def _curve(label: str, step: int, d: dict) -> Curve:
    return Curve(
        label=label,
        step=step,
        pass_at_k={int(k): float(v) for k, v in d["pass_at_k"].items()},
        greedy_accuracy=d.get("greedy_accuracy"),
        distinct_correct=float(d.get("mean_distinct_correct", 0.0)),
        num_problems=int(d["num_problems"]),
    )


def collect_curves(run_dirs: list[str | Path]) -> list[Curve]:
    curves: list[Curve] = []
    base_added = False
    for run in run_dirs:
        evals = load_evals(run)
        name = Path(run).name
        first_step, first = evals[0]
        if first_step == 0 and not base_added and len(evals) > 1:
            curves.append(_curve("base model", 0, first))
            base_added = True
        step, last = evals[-1]
        curves.append(_curve(name if step else f"{name} (step 0)", step, last))
    return curves


def svg_chart(curves: list[Curve], width: int = 720, height: int = 420) -> str:
    pad_l, pad_r, pad_t, pad_b = 60, 20, 20, 50
    max_k = max(max(c.pass_at_k) for c in curves)
    lx = lambda k: pad_l + (width - pad_l - pad_r) * (math.log2(k) / max(1.0, math.log2(max_k)))  # noqa: E731
    ly = lambda v: pad_t + (height - pad_t - pad_b) * (1.0 - v)  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    for v in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{ly(v):.1f}" y2="{ly(v):.1f}" stroke="#ddd"/>'
            f'<text x="{pad_l - 8}" y="{ly(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>'
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
        'text-anchor="middle">pass@k</text>'
    )
    for i, c in enumerate(curves):
        color = COLORS[i % len(COLORS)]
        pts = " ".join(f"{lx(k):.1f},{ly(v):.1f}" for k, v in sorted(c.pass_at_k.items()))
        dash = ' stroke-dasharray="6 4"' if c.label == "base model" else ""
        parts.append(
            f'<polyline class="curve" data-label="{html.escape(c.label)}" fill="none" stroke="{color}" '
            f'stroke-width="3"{dash} points="{pts}"/>'
        )
        y = pad_t + 10 + 18 * i
        parts.append(
            f'<line x1="{width - 230}" x2="{width - 200}" y1="{y}" y2="{y}" stroke="{color}" stroke-width="3"{dash}/>'
            f'<text x="{width - 192}" y="{y + 4}">{html.escape(c.label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(curves: list[Curve]) -> str:
    ks = sorted(
        {k for c in curves for k in c.pass_at_k if k & (k - 1) == 0} | {max(c.pass_at_k) for c in curves}
    )
    head = "".join(f"<th>pass@{k}</th>" for k in ks)
    rows = []
    for c in curves:
        cells = "".join(f"<td>{c.pass_at_k[k]:.3f}</td>" if k in c.pass_at_k else "<td></td>" for k in ks)
        greedy = "" if c.greedy_accuracy is None else f"{c.greedy_accuracy:.3f}"
        rows.append(
            f"<tr><td>{html.escape(c.label)}</td><td>{c.step}</td><td>{c.num_problems}</td>{cells}"
            f"<td>{greedy}</td><td>{c.distinct_correct:.2f}</td></tr>"
        )
    return (
        f"<table><thead><tr><th>run</th><th>step</th><th>problems</th>{head}<th>greedy</th>"
        f"<th>distinct correct</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def write_report(run_dirs: list[str | Path], out: str | Path, title: str = "rlvr: Pass@k") -> Path:
    """Write `out` (HTML) and `out` with .png (the same chart, via matplotlib). Returns the HTML path."""
    curves = collect_curves(run_dirs)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;margin:24px}table{border-collapse:collapse;margin-top:16px}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child{text-align:left}"
        f"</style></head><body><h1>{html.escape(title)}</h1>{svg_chart(curves)}{_table(curves)}"
        f"<p>Unbiased pass@k (Chen et al. 2021) over each run's last evaluation; base model dashed.</p>"
        "</body></html>"
    )
    out.write_text(page, encoding="utf-8")
    _png(curves, out.with_suffix(".png"))
    return out


def _png(curves: list[Curve], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, c in enumerate(curves):
        ks = sorted(c.pass_at_k)
        ax.plot(
            ks,
            [c.pass_at_k[k] for k in ks],
            color=COLORS[i % len(COLORS)],
            label=c.label,
            linewidth=2,
            linestyle="--" if c.label == "base model" else "-",
        )
    ax.set_xscale("log", base=2)
    ax.set_ylim(0, 1)
    ax.set_xlabel("k")
    ax.set_ylabel("pass@k")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
