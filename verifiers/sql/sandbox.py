"""Running one query on a SQLite database, sandboxed. Runs only inside a pool worker.

Layers, each because the one before it is not enough on its own:
  - `file:...?mode=ro&immutable=1`: no writes, no lock/journal/WAL files created next to the database.
  - an authorizer that allows only reading (SELECT, READ, FUNCTION, RECURSIVE) and denies
    `load_extension`: read-only connections still let ATTACH create files (DESIGN.md section 7),
    and PRAGMA writable_schema and friends must not run.
  - `SQLITE_LIMIT_ATTACHED = 0`, and small string/SQL length limits.
  - a progress handler that interrupts the query at its deadline (reason timeout).
  - a row cap (reason too_many_rows); the pool's memory limit and kill-on-timeout behind all of it.
Python's `execute` runs one statement only: a second one ("SELECT 1; DROP TABLE t") is refused.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from verifiers.result import Reason

_ALLOWED_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    sqlite3.SQLITE_RECURSIVE,
}
# Functions that reach outside the database (or into the parser's internals).
_DENIED_FUNCTIONS = {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"}
_MAX_VALUE_BYTES = 10_000_000  # SQLITE_LIMIT_LENGTH: caps zeroblob()/randomblob()/printf() results
_MAX_SQL_BYTES = 100_000  # SQLITE_LIMIT_SQL_LENGTH
_PROGRESS_STEPS = 1000  # VM instructions between deadline checks


@dataclass(frozen=True)
class QueryOutcome:
    """rows on success; otherwise `reason` (syntax_error, runtime_error, timeout, too_many_rows,
    forbidden, error) and `detail`."""

    rows: list[tuple] | None
    reason: Reason | None = None
    detail: str = ""


def _authorizer(action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None) -> int:
    if action not in _ALLOWED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _classify(exc: Exception) -> tuple[Reason, str]:
    msg = str(exc)
    low = msg.lower()
    if "authoriz" in low or "too many attached" in low or "prohibited" in low:
        return Reason.FORBIDDEN, msg
    if "one statement at a time" in low:
        return Reason.FORBIDDEN, "only one SQL statement is allowed"
    if "interrupted" in low:
        return Reason.TIMEOUT, "query interrupted at its deadline"
    if "syntax error" in low or "incomplete input" in low or "unrecognized token" in low:
        return Reason.SYNTAX_ERROR, msg
    return Reason.RUNTIME_ERROR, msg


@lru_cache(maxsize=4096)
def _readonly_uri(db_path: str) -> str:
    # Resolving symlinks costs ~0.7 ms (a realpath per call); a suite runs every prediction on
    # 1 + N files, so the URI is worked out once per path and worker.
    return f"{Path(db_path).resolve().as_uri()}?mode=ro&immutable=1"


def connect_readonly(db_path: str) -> sqlite3.Connection:
    """A sandboxed connection (see the module docstring). Raises FileNotFoundError for a missing file."""
    if not os.path.isfile(db_path):
        raise FileNotFoundError(f"SQLite database {db_path!r} not found; put its path in metadata['db_path']")
    conn = sqlite3.connect(_readonly_uri(db_path), uri=True, isolation_level=None, check_same_thread=False)
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, _MAX_VALUE_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, _MAX_SQL_BYTES)
    conn.set_authorizer(_authorizer)
    # Databases in the wild hold invalid UTF-8 in TEXT columns; that is data, not an error.
    conn.text_factory = lambda b: b.decode("utf-8", "replace")
    return conn


def run_query(db_path: str, sql: str, *, timeout: float, max_rows: int) -> QueryOutcome:
    """Execute `sql` read-only; at most `max_rows` rows, at most `timeout` seconds of VM time."""
    try:
        conn = connect_readonly(db_path)
    except (FileNotFoundError, sqlite3.Error) as exc:
        return QueryOutcome(None, Reason.ERROR, f"cannot open database: {exc}")
    deadline = time.monotonic() + timeout
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), _PROGRESS_STEPS)
    try:
        cursor = conn.execute(sql)
        if cursor.description is None:
            return QueryOutcome(None, Reason.SYNTAX_ERROR, "no query: the text holds no SELECT statement")
        rows = cursor.fetchmany(max_rows + 1)
        if len(rows) > max_rows:
            return QueryOutcome(None, Reason.TOO_MANY_ROWS, f"more than max_rows={max_rows} rows")
        return QueryOutcome(rows)
    except (sqlite3.Error, sqlite3.Warning) as exc:
        reason, detail = _classify(exc)
        return QueryOutcome(None, reason, detail[:200])
    except (OverflowError, ValueError, MemoryError) as exc:
        return QueryOutcome(None, Reason.RUNTIME_ERROR, f"{type(exc).__name__}: {exc}"[:200])
    finally:
        conn.close()
