"""Per-problem results of an evaluation as arrays, and the intervals computed from them.

An evaluation file (eval/step_N.json) lists, per problem, its id, how many of the n samples were
correct, its distinct correct responses and (when greedy decoding ran) whether the greedy answer
was correct. Everything with an interval is a mean over problems of one of these per-problem
values, so intervals, seed averages and paired comparisons all work on this table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlvr.eval.stats import DEFAULT_LEVEL, DEFAULT_RESAMPLES, bootstrap_ci, pass_at_k_matrix


@dataclass
class ProblemTable:
    """ids: problem ids (P); pass_at_k: (P, n), column k-1 = pass@k of each problem;
    distinct_correct: (P,); greedy_correct: (P,) in [0, 1], or None when greedy decoding did not run."""

    ids: list[str]
    n: int
    pass_at_k: np.ndarray
    distinct_correct: np.ndarray
    greedy_correct: np.ndarray | None

    @classmethod
    def from_eval(cls, d: dict, source: str = "evaluation") -> ProblemTable | None:
        """From an eval result dict; None when it has no per-problem results (files written
        before they were recorded). `source` names the file in errors."""
        rows = d.get("per_problem") or []
        if not rows:
            return None
        try:
            n = int(d["n"])
            ids = [str(r["id"]) for r in rows]
            counts = np.array([int(r["correct"]) for r in rows])
            distinct = np.array([float(r.get("distinct_correct", 0.0)) for r in rows])
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{source}: per_problem rows need id, correct and n ({e!r})") from None
        if len(set(ids)) != len(ids):
            raise ValueError(f"{source}: per_problem has repeated problem ids")
        greedy = None
        if all("greedy_correct" in r for r in rows):
            greedy = np.array([float(r["greedy_correct"]) for r in rows])
        try:
            matrix = pass_at_k_matrix(counts, n)
        except ValueError as e:
            raise ValueError(f"{source}: {e}") from None
        return cls(ids, n, matrix, distinct, greedy)

    def select(self, ids: list[str]) -> ProblemTable:
        """The rows of `ids`, in that order (pairing two tables by problem id)."""
        row = {pid: j for j, pid in enumerate(self.ids)}
        take = np.array([row[pid] for pid in ids], dtype=np.int64)
        greedy = None if self.greedy_correct is None else self.greedy_correct[take]
        return ProblemTable(list(ids), self.n, self.pass_at_k[take], self.distinct_correct[take], greedy)

    def truncate(self, n: int) -> ProblemTable:
        """Only pass@1..pass@n (comparing evaluations with different sample counts)."""
        return ProblemTable(self.ids, n, self.pass_at_k[:, :n], self.distinct_correct, self.greedy_correct)


def mean_over_seeds(tables: list[ProblemTable], names: list[str]) -> ProblemTable:
    """Per-problem mean of several runs' tables (the seeds of one configuration).

    The runs must have been evaluated on the same problems with the same n; `names` name the runs
    in the error otherwise.
    """
    first = tables[0]
    for t, name in zip(tables[1:], names[1:], strict=True):
        if set(t.ids) != set(first.ids):
            raise ValueError(
                f"{name} was evaluated on other problems than {names[0]} ({len(t.ids)} vs {len(first.ids)}); "
                "seeds of one configuration must share the test set (eval.max_problems, data.test)"
            )
        if t.n != first.n:
            raise ValueError(
                f"{name} drew n={t.n} samples per problem, {names[0]} n={first.n}: use one eval.n"
            )
    aligned = [t.select(first.ids) for t in tables]
    greedy = None
    if all(t.greedy_correct is not None for t in aligned):
        greedy = np.mean([t.greedy_correct for t in aligned], axis=0)
    return ProblemTable(
        list(first.ids),
        first.n,
        np.mean([t.pass_at_k for t in aligned], axis=0),
        np.mean([t.distinct_correct for t in aligned], axis=0),
        greedy,
    )


def intervals(
    table: ProblemTable,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = 0,
) -> dict:
    """Bootstrap intervals over problems, as stored in eval/step_N.json:
    pass_at_k_ci {k: [low, high]} for k = 1..n, distinct_correct_ci and greedy_accuracy_ci
    ([low, high], or None without greedy results), and `bootstrap` describing how they were made.
    All metrics share one set of resamples (a consistent joint resampling)."""
    columns = [table.pass_at_k, table.distinct_correct[:, None]]
    if table.greedy_correct is not None:
        columns.append(table.greedy_correct[:, None])
    low, high = bootstrap_ci(np.hstack(columns), resamples=resamples, level=level, seed=seed)
    n = table.n
    return {
        "pass_at_k_ci": {k: [float(low[k - 1]), float(high[k - 1])] for k in range(1, n + 1)},
        "distinct_correct_ci": [float(low[n]), float(high[n])],
        "greedy_accuracy_ci": None
        if table.greedy_correct is None
        else [float(low[n + 1]), float(high[n + 1])],
        "bootstrap": {"over": "problems", "resamples": resamples, "level": level, "seed": seed},
    }
