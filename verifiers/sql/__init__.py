"""The `sql` verifier: text-to-SQL execution match on SQLite, sandboxed, in the worker pool.

Reference: the gold SQL query. Metadata: `db_path`, the SQLite file both queries run on, and
optionally `db_suite`, database variants the prediction must also match the gold on (test-suite
execution, see `verifiers.sql.suite`). Correct when the predicted query's result equals the gold
query's on `db_path` and on every variant (see `verifiers.sql.compare`; rows tied on an ordered
gold's keys may come in any order, `verifiers.sql.ties`); the first mismatch stops.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from time import monotonic
from typing import Any, ClassVar

from verifiers.base import PooledVerifier, short
from verifiers.options import PoolOptions, parse_strategies
from verifiers.result import Judgement, Reason
from verifiers.sql.compare import ABS_TOL, REL_TOL, gold_is_ordered, same_result
from verifiers.sql.extract import STRATEGIES, extract_sql
from verifiers.sql.sandbox import QueryOutcome, run_query
from verifiers.sql.suite import SuiteError, suite_paths
from verifiers.sql.ties import tie_runs, with_order_keys

__all__ = ["SqlOptions", "SqlVerifier", "extract_sql", "run_query"]


@dataclass
class SqlOptions(PoolOptions):
    """Options of the SQL verifier (plus shaping and pool options, see `PoolOptions`).

    extract:      comma-separated strategies tried in order: sql_fence, fence, raw.
    timeout:      seconds one query may run (SQLite progress-handler deadline); all the queries of one
                  response, on `db_path` and its suite, share a budget of 2 * timeout (reason timeout
                  past it), and the worker is killed at 2 * timeout + 1 if SQLite hangs.
    max_rows:     a query returning more rows is `too_many_rows` (the gold query too: reason error).
    rel_tol, abs_tol: two numbers that are not both integral match when
                  |a - b| <= max(rel_tol * max(|a|, |b|), abs_tol) (defaults 1e-11, 1e-9; see
                  `verifiers.sql.compare`); integers compare exactly.
    Only a ```sql block counts as `formatted` (earns score_format).
    """

    extract: str = "sql_fence,fence,raw"
    max_rows: int = 10_000
    rel_tol: float = REL_TOL
    abs_tol: float = ABS_TOL

    def strategies(self) -> tuple[str, ...]:
        return parse_strategies(self.extract, STRATEGIES)

    def validate(self) -> None:
        super().validate()
        self.strategies()
        if self.max_rows < 1:
            raise ValueError(f"max_rows must be >= 1, got {self.max_rows}")
        # A tolerance of 1e-3 relative already merges 1,000 and 1,001 computed as floats.
        if not 0 <= self.rel_tol < 1e-3:
            raise ValueError(f"rel_tol must be in [0, 1e-3), got {self.rel_tol}")
        if not 0 <= self.abs_tol < 1:
            raise ValueError(f"abs_tol must be in [0, 1), got {self.abs_tol}")


# Entries: one per (database, gold query). A bundled-task run touches 98 golds x 9 databases; a cache
# smaller than the working set would miss on every call (LRU over a cycle).
@lru_cache(maxsize=8192)
def _gold(
    db_path: str, stamp: tuple[int, int], gold_sql: str, timeout: float, max_rows: int
) -> tuple[QueryOutcome, bool, tuple[int, ...] | None]:
    """Gold result, ordering and runs of tied rows, cached per worker by (database file and its
    mtime/size, gold query): a group of samples shares one gold query, and a changed database file
    is a new key."""
    outcome = run_query(db_path, gold_sql, timeout=timeout, max_rows=max_rows)
    ordered = gold_is_ordered(gold_sql)
    if not ordered or outcome.rows is None:
        return outcome, ordered, None
    rewrite = with_order_keys(gold_sql)
    if rewrite is None:
        return outcome, ordered, None
    keyed_sql, n_keys = rewrite
    keyed = run_query(db_path, keyed_sql, timeout=timeout, max_rows=max_rows)
    if keyed.rows is None:
        return outcome, ordered, None
    visible = [row[:-n_keys] for row in keyed.rows]
    # The rewrite must not change what the gold returns (it may change the order among ties only).
    if not same_result(outcome.rows, visible, ordered=False, rel_tol=0.0, abs_tol=0.0):
        return outcome, ordered, None
    return QueryOutcome(visible), ordered, tie_runs([row[-n_keys:] for row in keyed.rows])


def _where(db: str, index: int, total: int) -> str:
    return "" if index == 0 else f" on suite database {index}/{total - 1} ({os.path.basename(db)})"


class SqlVerifier(PooledVerifier):
    name: ClassVar[str] = "sql"
    Options: ClassVar[type] = SqlOptions
    worker_preload: ClassVar[tuple[str, ...]] = ("verifiers.sql", "sqlglot")

    def task_timeout(self) -> float:
        return 2 * float(self.options.timeout) + 1.0

    def judge(self, response: str, reference: str, metadata: Mapping[str, Any]) -> Judgement:
        opts: SqlOptions = self.options  # type: ignore[assignment]
        deadline = monotonic() + 2 * opts.timeout  # one budget for every query of this response
        db_path = metadata.get("db_path")
        if not isinstance(db_path, str) or not db_path:
            return Judgement(Reason.ERROR, "metadata needs 'db_path': the SQLite file to run the queries on")
        try:
            databases = (db_path, *suite_paths(metadata, db_path))
        except SuiteError as exc:
            return Judgement(Reason.ERROR, str(exc))
        found = extract_sql(response, opts.strategies())
        if found is None:
            return Judgement(Reason.UNPARSEABLE, f"no SQL found (tried {opts.extract})")
        sql, strategy = found
        formatted = strategy == "sql_fence"
        n_rows, ordered = 0, False
        for index, db in enumerate(databases):
            where = _where(db, index, len(databases))
            try:
                st = os.stat(db)
            except OSError as exc:
                return Judgement(Reason.ERROR, f"cannot read database {db!r}: {exc.strerror}", formatted)
            gold, ordered, ties = _gold(
                os.path.abspath(db), (st.st_mtime_ns, st.st_size), reference, opts.timeout, opts.max_rows
            )
            if gold.rows is None:
                return Judgement(
                    Reason.ERROR,
                    f"gold query failed{where} ({gold.reason}): {short(gold.detail, 120)}",
                    formatted,
                )
            left = deadline - monotonic()
            if left <= 0:
                return Judgement(
                    Reason.TIMEOUT,
                    f"the suite's time budget ran out before database {index + 1} of {len(databases)}",
                    formatted,
                )
            pred = run_query(db, sql, timeout=min(opts.timeout, left), max_rows=opts.max_rows)
            if pred.rows is None:
                return Judgement(
                    pred.reason or Reason.ERROR, short(pred.detail, 160 - len(where)) + where, formatted
                )
            if not same_result(
                gold.rows, pred.rows, ordered=ordered, rel_tol=opts.rel_tol, abs_tol=opts.abs_tol, ties=ties
            ):
                return Judgement(
                    Reason.WRONG,
                    f"{len(pred.rows)} rows vs {len(gold.rows)} expected{' (ordered)' if ordered else ''}{where}",
                    formatted,
                )
            if index == 0:
                n_rows = len(pred.rows)  # the detail reports the main database
        suite = f" and {len(databases) - 1} suite databases" if len(databases) > 1 else ""
        return Judgement(Reason.OK, f"{n_rows} rows match{' in order' if ordered else ''}{suite}", formatted)
