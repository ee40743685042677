"""Pure pieces of the side-by-side benchmark: step medians, ratios against targets, the Markdown table.

No timing happens here; the harness (`__main__`) measures and hands the numbers in.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path


def read_metrics(path: str | Path) -> list[dict]:
    """The rows of a run's metrics.jsonl; a line that is not a JSON object raises naming file:line."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{lineno}: not JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{lineno}: expected a JSON object")
            rows.append(row)
    return rows


def step_values(rows: list[dict], key: str) -> dict[int, float]:
    """{step: value} of `key` over the rows that carry it (rlvr logs several rows per step)."""
    return {int(r["step"]): float(r[key]) for r in rows if "step" in r and key in r}


def median_of_steps(values: dict[int, float], first: int, last: int | None = None) -> float:
    """Median of the per-step values of steps first..last (1-based, inclusive; last: the final step).

    Steps before `first` are warm-up (allocator, caches, first compiles) and are left out."""
    last = max(values) if last is None and values else last
    picked = [v for step, v in values.items() if first <= step <= (last or 0)]
    if not picked:
        raise ValueError(f"no values for steps {first}..{last} (have steps {sorted(values)})")
    return statistics.median(picked)


@dataclass(frozen=True)
class Target:
    """A bound on a row's ratio (or absolute value): `value op bound`, op one of <= or >=."""

    op: str
    bound: float

    def met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        if self.op == "<=":
            return value <= self.bound
        if self.op == ">=":
            return value >= self.bound
        raise ValueError(f"target op {self.op!r}: use <= or >=")

    def __str__(self) -> str:
        return f"{self.op} {self.bound:g}"


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, None when either is missing or the denominator is not positive."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


@dataclass
class Row:
    measurement: str
    rlvr: str  # the rlvr side, formatted with its unit
    reference: str  # the peer or hardware limit, formatted
    value: float | None  # the ratio (or absolute value) the target applies to
    value_text: str  # how `value` reads in the table, e.g. "1.20x"
    target: Target | None
    load: tuple[float, float]  # lowest and highest 1-minute load average seen while its pieces ran
    command: str

    @property
    def met(self) -> bool | None:
        return self.target.met(self.value) if self.target else None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["target"] = str(self.target) if self.target else None
        d["met"] = self.met
        return d


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "n/a"
    if s < 0.01:
        return f"{s * 1e6:.0f} us" if s < 1e-3 else f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def fmt_ratio(x: float | None, suffix: str = "x") -> str:
    return "n/a" if x is None else f"{x:.2f}{suffix}"


def _met_text(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: ""}[met]


def render(rows: list[Row]) -> str:
    """The Markdown table: one line per row, commands in code spans (pipes escaped)."""
    out = [
        "| measurement | rlvr | reference | ratio | target | met | load avg (1 min, low-high) | command |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        command = r.command.replace("|", "\\|")
        out.append(
            f"| {r.measurement} | {r.rlvr} | {r.reference} | {r.value_text} | "
            f"{r.target or ''} | {_met_text(r.met)} | {r.load[0]:.1f}-{r.load[1]:.1f} | `{command}` |"
        )
    return "\n".join(out) + "\n"


def max_load(rows: list[Row]) -> float:
    return max((max(r.load) for r in rows), default=0.0)
