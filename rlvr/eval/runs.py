"""Run directories for `rlvr report`: their evaluations and configs, seed groups, paired comparisons.

A training run stores its composed config in RUN/.hydra/config.yaml (Hydra writes it before the
run starts), its evaluations in RUN/eval/step_N.json and its per-step metrics in RUN/metrics.jsonl. Runs whose configs are equal except for
`seed` and where they were written or logged (IGNORED_KEYS) are seeds of one configuration and form
a group. A directory without a stored config (e.g. made by `rlvr eval --run-dir`) is a group alone.

A group's curve is the mean over its seeds; its interval is a bootstrap over problems of the
per-problem mean over seeds (see `summarize` for why not over seeds). Two groups are compared by a
paired bootstrap over the problems both were evaluated on, matched by problem id.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from rlvr.eval.problems import ProblemTable, intervals, mean_over_seeds
from rlvr.eval.stats import DEFAULT_RESAMPLES, paired_difference_ci

CONFIG_FILE = Path(".hydra") / "config.yaml"
# Keys that may differ between seeds of one configuration without changing what is trained: the
# seed itself, where the run was written and logged, whether the base model was evaluated at step 0
# (eval.at_start: the trained model's evaluation is the same), and resuming (a resumed run equals an
# uninterrupted one: tests/e2e/test_resume.py).
IGNORED_KEYS = ("seed", "run_dir", "hydra", "cache_dir", "logger", "resume", "eval.at_start")
BASE_LABEL = "base model"


@dataclass
class Run:
    path: Path
    config: dict | None  # flattened "a.b.c" -> value, IGNORED_KEYS removed; None: no stored config
    seed: int | None
    evals: list[tuple[int, dict]]  # (step, eval result dict), in step order
    metrics: dict[str, dict[int, float]] = field(default_factory=dict)  # key -> step -> value

    @property
    def name(self) -> str:
        return self.path.name

    def eval_file(self, step: int) -> Path:
        return self.path / "eval" / f"step_{step:06d}.json"


@dataclass
class Curve:
    """One line of the report: a group of seeds (or one run) at one evaluation.

    pass_at_k and its interval are means over problems (of the per-problem mean over seeds); `ci`
    is empty and the other intervals None when the files carry no per-problem results."""

    label: str
    step: int
    pass_at_k: dict[int, float]
    greedy_accuracy: float | None
    distinct_correct: float
    num_problems: int
    ci: dict[int, tuple[float, float]] = field(default_factory=dict)
    greedy_ci: tuple[float, float] | None = None
    distinct_ci: tuple[float, float] | None = None
    runs: list[str] = field(default_factory=list)
    seeds: list[int | None] = field(default_factory=list)
    table: ProblemTable | None = None
    members: list[Curve] = field(default_factory=list)  # each seed's own curve, for groups of 2+ runs


@dataclass
class Comparison:
    """Paired difference `label` - `baseline` per k (and greedy, distinct correct): (mean, low, high)."""

    label: str
    baseline: str
    num_problems: int
    pass_at_k: dict[int, tuple[float, float, float]]
    greedy: tuple[float, float, float] | None
    distinct_correct: tuple[float, float, float]


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
            d = json.loads(f.read_text())
            out.append((int(f.stem.split("_")[1]), d))
        except (ValueError, json.JSONDecodeError) as e:
            raise ValueError(f"{f}: not a readable evaluation ({e})") from None
        for key in ("pass_at_k", "num_problems"):
            if key not in d:
                raise ValueError(f"{f}: not an evaluation result (no {key!r} key)")
    return out


def load_metrics(run_dir: str | Path) -> dict[str, dict[int, float]]:
    """RUN/metrics.jsonl as key -> {step: value}; {} without the file (`rlvr eval --run-dir`).

    Non-finite values (written as "nan"/"inf" strings) are left out: a chart cannot draw them."""
    path = Path(run_dir) / "metrics.jsonl"
    out: dict[str, dict[int, float]] = {}
    if not path.exists():
        return out
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            step = int(row["step"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{path}:{lineno}: not a metrics row with a 'step' ({e})") from None
        for key, value in row.items():
            if key != "step" and isinstance(value, int | float) and math.isfinite(value):
                out.setdefault(key, {})[step] = float(value)
    return out


def _flatten(node, prefix: str = "") -> dict:
    if not isinstance(node, dict):
        return {prefix: node}
    out: dict = {}
    for key, value in node.items():
        out |= _flatten(value, f"{prefix}{key}.")
    return out if out or not prefix else {prefix: {}}


def load_run(run_dir: str | Path) -> Run:
    path = Path(run_dir)
    evals = load_evals(path)
    cfg_path = path / CONFIG_FILE
    metrics = load_metrics(path)
    if not cfg_path.exists():
        return Run(path, None, None, evals, metrics)
    try:
        cfg = yaml.safe_load(cfg_path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{cfg_path}: not readable YAML ({e})") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"{cfg_path}: expected a mapping of config keys")
    flat = {k.rstrip("."): v for k, v in _flatten(cfg).items()}
    kept = {k: v for k, v in flat.items() if not any(k == i or k.startswith(i + ".") for i in IGNORED_KEYS)}
    seed = cfg.get("seed")
    return Run(path, kept, seed if isinstance(seed, int) else None, evals, metrics)


def group_runs(runs: list[Run]) -> list[list[Run]]:
    """Runs with equal configs (seed, run_dir and hydra.* aside), in order of first appearance."""
    groups: list[list[Run]] = []
    for run in runs:
        home = next((g for g in groups if run.config is not None and g[0].config == run.config), None)
        if home is None:
            groups.append([run])
        else:
            home.append(run)
    return groups


_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_")
_JOB_NUM = re.compile(r"^\d+_")


def _stem(name: str) -> str:
    """A run's name without Hydra's time stamp or multirun job number (`3_dph_js` -> `dph_js`)."""
    return _JOB_NUM.sub("", _STAMP.sub("", name)) or name


def group_labels(groups: list[list[Run]]) -> list[str]:
    """The runs' common name; groups whose names collide get the config values that tell them apart."""
    labels = [_stem(g[0].name) for g in groups]
    for label in set(labels):
        same = [i for i, x in enumerate(labels) if x == label]
        if len(same) < 2:
            continue
        configs = [groups[i][0].config or {} for i in same]
        keys = sorted({k for c in configs for k in c if len({repr(d.get(k)) for d in configs}) > 1})
        for i, c in zip(same, configs, strict=True):
            parts = [f"{k.rsplit('.', 1)[-1]}={c.get(k)}" for k in keys[:3]]
            labels[i] = (
                f"{label} {', '.join(parts)}" if parts else f"{label} ({groups[i][0].path.parent.name})"
            )
    for i, label in enumerate(labels):  # still equal (e.g. same names in different folders)
        if labels.count(label) > 1:
            labels[i] = f"{label} #{labels[: i + 1].count(label)}"
    return labels


def summarize(
    label: str, runs: list[Run], evals: list[tuple[int, dict]], *, resamples: int, seed: int
) -> Curve:
    """The curve of `evals` (one (step, result) per run of a group) with bootstrap intervals.

    Interval: bootstrap over problems of the per-problem mean over seeds. It answers "how far
    could this curve move on another draw of test problems (and of samples)", given these trained
    seeds; with the 2-5 seeds a CPU sweep affords, a bootstrap over seeds has too few distinct
    resamples to give an interval (3 seeds: 10), so seed-to-seed spread is shown separately, as
    each seed's own curve (`members`), not folded into the band.
    """
    members = []
    if len(runs) > 1:
        members = [
            summarize(
                f"{label} seed {'?' if r.seed is None else r.seed}", [r], [e], resamples=resamples, seed=seed
            )
            for r, e in zip(runs, evals, strict=True)
        ]
    names = [str(r.eval_file(step)) for r, (step, _) in zip(runs, evals, strict=True)]
    tables = [ProblemTable.from_eval(d, name) for (_, d), name in zip(evals, names, strict=True)]
    steps = sorted({step for step, _ in evals})
    common = dict(
        label=label,
        step=steps[-1],
        runs=[r.name for r in runs],
        seeds=[r.seed for r in runs],
        members=members,
    )
    if all(t is not None for t in tables):
        table = mean_over_seeds(tables, names)
        ci = intervals(table, resamples=resamples, seed=seed)
        greedy = None if table.greedy_correct is None else float(table.greedy_correct.mean())
        if greedy is None:  # files from before greedy_correct was recorded: the stored mean
            values = [d.get("greedy_accuracy") for _, d in evals]
            greedy = None if None in values else float(np.mean(values))
        return Curve(
            pass_at_k={k: float(v) for k, v in enumerate(table.pass_at_k.mean(axis=0), start=1)},
            greedy_accuracy=greedy,
            distinct_correct=float(table.distinct_correct.mean()),
            num_problems=len(table.ids),
            ci={k: tuple(v) for k, v in ci["pass_at_k_ci"].items()},
            greedy_ci=None if ci["greedy_accuracy_ci"] is None else tuple(ci["greedy_accuracy_ci"]),
            distinct_ci=tuple(ci["distinct_correct_ci"]),
            table=table,
            **common,
        )
    # No per-problem rows (old files): the mean of the stored curves, without intervals.
    stored = [{int(k): float(v) for k, v in d["pass_at_k"].items()} for _, d in evals]
    ks = sorted(set.intersection(*[set(c) for c in stored]))
    greedy = [d.get("greedy_accuracy") for _, d in evals]
    return Curve(
        pass_at_k={k: float(np.mean([c[k] for c in stored])) for k in ks},
        greedy_accuracy=None if None in greedy else float(np.mean(greedy)),
        distinct_correct=float(np.mean([d.get("mean_distinct_correct", 0.0) for _, d in evals])),
        num_problems=int(evals[0][1]["num_problems"]),
        **common,
    )


def collect_curves(
    run_dirs: list[str | Path], *, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> list[Curve]:
    """The base model (step 0 of the first group's trained runs, pooled over its seeds) if there
    is one, then each seed group at its runs' last evaluation."""
    return group_curves(load_groups(run_dirs), resamples=resamples, seed=seed)


def load_groups(run_dirs: list[str | Path]) -> list[tuple[str, list[Run]]]:
    """(label, runs) of each seed group, in order of first appearance."""
    groups = group_runs([load_run(d) for d in run_dirs])
    return list(zip(group_labels(groups), groups, strict=True))


def group_curves(
    labelled: list[tuple[str, list[Run]]], *, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> list[Curve]:
    """`collect_curves` of groups already loaded: the base model if there is one, then one curve
    per group, in the groups' order."""
    labels = [label for label, _ in labelled]
    groups = [runs for _, runs in labelled]
    curves: list[Curve] = []
    first = groups[0]
    if all(r.evals[0][0] == 0 and len(r.evals) > 1 for r in first):
        curves.append(
            summarize(BASE_LABEL, first, [r.evals[0] for r in first], resamples=resamples, seed=seed)
        )
    for label, runs in zip(labels, groups, strict=True):
        last = [r.evals[-1] for r in runs]
        if all(step == 0 for step, _ in last) and len(runs) == 1:
            label = f"{label} (step 0)"
        curves.append(summarize(label, runs, last, resamples=resamples, seed=seed))
    return curves


def compare(
    curve: Curve, baseline: Curve, *, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> Comparison:
    """Paired bootstrap of `curve` - `baseline` over the problems both were evaluated on (by id),
    for pass@k up to the smaller n of the two, greedy accuracy (when both have it) and distinct correct."""
    for c in (curve, baseline):
        if c.table is None:
            raise ValueError(
                f"{c.label} ({', '.join(c.runs)}): its evaluation files have no per-problem results "
                "(written by an older rlvr); re-run `rlvr eval` on its model to compare it"
            )
    a, b = curve.table, baseline.table
    common = [pid for pid in a.ids if pid in set(b.ids)]
    if not common:
        raise ValueError(f"{curve.label} and {baseline.label} share no test problems (ids): nothing to pair")
    n = min(a.n, b.n)
    a, b = a.select(common).truncate(n), b.select(common).truncate(n)
    cols_a = [a.pass_at_k, a.distinct_correct[:, None]]
    cols_b = [b.pass_at_k, b.distinct_correct[:, None]]
    with_greedy = a.greedy_correct is not None and b.greedy_correct is not None
    if with_greedy:
        cols_a.append(a.greedy_correct[:, None])
        cols_b.append(b.greedy_correct[:, None])
    d, low, high = paired_difference_ci(np.hstack(cols_a), np.hstack(cols_b), resamples=resamples, seed=seed)
    cell = lambda j: (float(d[j]), float(low[j]), float(high[j]))  # noqa: E731
    return Comparison(
        label=curve.label,
        baseline=baseline.label,
        num_problems=len(common),
        pass_at_k={k: cell(k - 1) for k in range(1, n + 1)},
        greedy=cell(n + 1) if with_greedy else None,
        distinct_correct=cell(n),
    )


def comparisons(
    curves: list[Curve],
    *,
    baseline: str | None = None,
    pairs: list[tuple[str, str]] | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> list[Comparison]:
    """Every curve against `baseline`, and each (A, B) of `pairs` as A - B; names are curve labels."""
    by_label = {c.label: c for c in curves}

    def get(name: str) -> Curve:
        if name not in by_label:
            raise KeyError(f"no run or seed group named {name!r}; the report has: {', '.join(by_label)}")
        return by_label[name]

    out = []
    if baseline is not None:
        base = get(baseline)
        out += [compare(c, base, resamples=resamples, seed=seed) for c in curves if c is not base]
    for a, b in pairs or []:
        out.append(compare(get(a), get(b), resamples=resamples, seed=seed))
    return out
