"""The `sql` verifier: text-to-SQL execution match on SQLite, sandboxed, in the worker pool.

Reference: the gold SQL query. Metadata: `db_path`, the SQLite file both queries run on.
Correct when the predicted query's result equals the gold query's (see `verifiers.sql.compare`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from verifiers.base import PooledVerifier, short
from verifiers.options import PoolOptions, parse_strategies
from verifiers.result import Judgement, Reason
from verifiers.sql.compare import gold_is_ordered, same_result
from verifiers.sql.extract import STRATEGIES, extract_sql
from verifiers.sql.sandbox import QueryOutcome, run_query

__all__ = ["SqlOptions", "SqlVerifier", "extract_sql", "run_query"]


@dataclass
class SqlOptions(PoolOptions):
    """Options of the SQL verifier (plus shaping and pool options, see `PoolOptions`).

    extract:      comma-separated strategies tried in order: sql_fence, fence, raw.
    timeout:      seconds each query may run (SQLite progress-handler deadline); the worker is
                  killed at 2 * timeout + 1 (gold and predicted query, plus slack) if SQLite hangs.
    max_rows:     a query returning more rows is `too_many_rows` (the gold query too: reason error).
    float_digits: floats compare equal to this many significant digits.
    Only a ```sql block counts as `formatted` (earns score_format).
    """

    extract: str = "sql_fence,fence,raw"
    max_rows: int = 10_000
    float_digits: int = 9

    def strategies(self) -> tuple[str, ...]:
        return parse_strategies(self.extract, STRATEGIES)

    def validate(self) -> None:
        super().validate()
        self.strategies()
        if self.max_rows < 1:
            raise ValueError(f"max_rows must be >= 1, got {self.max_rows}")
        if not 1 <= self.float_digits <= 17:
            raise ValueError(f"float_digits must be in 1..17, got {self.float_digits}")


@lru_cache(maxsize=512)
def _gold(db_path: str, stamp: tuple[int, int], gold_sql: str, timeout: float, max_rows: int) -> tuple[QueryOutcome, bool]:
    """Gold result and ordering, cached per worker by (database file and its mtime/size, gold query):
    a group of samples shares one gold query, and a changed database file is a new key."""
    return run_query(db_path, gold_sql, timeout=timeout, max_rows=max_rows), gold_is_ordered(gold_sql)


class SqlVerifier(PooledVerifier):
    name: ClassVar[str] = "sql"
    Options: ClassVar[type] = SqlOptions
    worker_preload: ClassVar[tuple[str, ...]] = ("verifiers.sql", "sqlglot")

    def task_timeout(self) -> float:
        return 2 * float(self.options.timeout) + 1.0

    def judge(self, response: str, reference: str, metadata: Mapping[str, Any]) -> Judgement:
        opts: SqlOptions = self.options  # type: ignore[assignment]
        db_path = metadata.get("db_path")
        if not isinstance(db_path, str) or not db_path:
            return Judgement(Reason.ERROR, "metadata needs 'db_path': the SQLite file to run the queries on")
        found = extract_sql(response, opts.strategies())
        if found is None:
            return Judgement(Reason.UNPARSEABLE, f"no SQL found (tried {opts.extract})")
        sql, strategy = found
        formatted = strategy == "sql_fence"
        try:
            st = os.stat(db_path)
        except OSError as exc:
            return Judgement(Reason.ERROR, f"cannot read database {db_path!r}: {exc.strerror}", formatted)
        gold, ordered = _gold(os.path.abspath(db_path), (st.st_mtime_ns, st.st_size), reference, opts.timeout, opts.max_rows)
        if gold.rows is None:
            return Judgement(Reason.ERROR, f"gold query failed ({gold.reason}): {short(gold.detail, 120)}", formatted)
        pred = run_query(db_path, sql, timeout=opts.timeout, max_rows=opts.max_rows)
        if pred.rows is None:
            return Judgement(pred.reason or Reason.ERROR, short(pred.detail, 160), formatted)
        if same_result(gold.rows, pred.rows, ordered=ordered, float_digits=opts.float_digits):
            return Judgement(Reason.OK, f"{len(pred.rows)} rows match{' in order' if ordered else ''}", formatted)
        return Judgement(Reason.WRONG, f"{len(pred.rows)} rows vs {len(gold.rows)} expected{' (ordered)' if ordered else ''}", formatted)
