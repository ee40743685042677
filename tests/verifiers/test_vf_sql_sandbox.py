"""Hostile SQL: every attempt fails with the right reason in time, and the database folder is untouched."""

from __future__ import annotations

import time

import pytest
from vf_db import folder_snapshot, make_shop

from verifiers import Reason, get_verifier

# 4^15 ~ 1e9 rows. One column: with `SELECT *` (45 columns) building the first 10,001 Python rows took
# ~1 s on a loaded 2-core machine, as long as the 1 s timeout, so the case flipped to `timeout`.
CROSS_10E9 = (
    "SELECT a.name FROM customers a, customers b, customers c, customers d, customers e, "
    + ", ".join(f"customers t{i}" for i in range(10))
)
COUNT_10E9 = "SELECT COUNT(*) FROM (" + CROSS_10E9 + ")"
GOLD = "SELECT name FROM customers"

HOSTILE = [
    ("ATTACH DATABASE '{folder}/evil.db' AS evil", {Reason.FORBIDDEN}),
    ("DETACH DATABASE main", {Reason.FORBIDDEN}),
    ("DROP TABLE orders", {Reason.FORBIDDEN}),
    ("DELETE FROM orders", {Reason.FORBIDDEN}),
    ("UPDATE customers SET name = 'x'", {Reason.FORBIDDEN}),
    ("INSERT INTO customers VALUES (9, 'eve', 'nowhere')", {Reason.FORBIDDEN}),
    ("CREATE TABLE pwn(x)", {Reason.FORBIDDEN}),
    ("PRAGMA writable_schema = 1", {Reason.FORBIDDEN}),
    ("PRAGMA journal_mode = WAL", {Reason.FORBIDDEN}),
    ("VACUUM INTO '{folder}/copy.db'", {Reason.FORBIDDEN}),
    ("SELECT load_extension('{folder}/evil.so')", {Reason.FORBIDDEN}),
    ("SELECT name FROM customers; DROP TABLE orders", {Reason.FORBIDDEN}),
    ("SELECT 1; ATTACH '{folder}/evil2.db' AS e", {Reason.FORBIDDEN}),
    ("BEGIN IMMEDIATE", {Reason.FORBIDDEN}),
    (
        "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT x FROM r ORDER BY x DESC LIMIT 1",
        {Reason.TIMEOUT},
    ),
    (
        "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT * FROM r",
        {Reason.TOO_MANY_ROWS},
    ),
    (CROSS_10E9, {Reason.TOO_MANY_ROWS}),
    (COUNT_10E9, {Reason.TIMEOUT}),
    ("SELECT zeroblob(2000000000)", {Reason.RUNTIME_ERROR}),
    ("SELECT " + "1+" * 500_000 + "1", {Reason.UNPARSEABLE}),  # a 1 MB response: refused unread
    ("SELECT " + "1+" * 45_000 + "1", {Reason.RUNTIME_ERROR, Reason.SYNTAX_ERROR}),  # parser depth limits
]


@pytest.fixture(scope="module")
def hostile_setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    db = make_shop(folder)
    with get_verifier("sql", workers=2, timeout=1.0) as v:
        assert v.pool.wait_ready(60)
        before = folder_snapshot(folder)
        yield v, folder, db
        v.close()
        assert folder_snapshot(folder) == before, "the database folder changed"


@pytest.mark.parametrize("sql, reasons", HOSTILE, ids=[h[0][:40] for h in HOSTILE])
def test_hostile_sql(hostile_setup, sql, reasons):
    v, folder, db = hostile_setup
    before = folder_snapshot(folder)
    assert v.pool.wait_ready(60)
    start = time.monotonic()
    result = v.verify(f"```sql\n{sql.format(folder=folder)}\n```", GOLD, db_path=str(db))
    elapsed = time.monotonic() - start
    assert result.reason in reasons and not result.correct, result
    assert elapsed <= v.options.timeout + 1.0, f"{elapsed:.2f}s"
    assert folder_snapshot(folder) == before  # byte-identical, no new file (no journal, no attached db)
    assert v.verify(f"```sql\n{GOLD}\n```", GOLD, db_path=str(db)).correct  # still healthy


def test_hostile_batch_at_once(hostile_setup):
    v, folder, db = hostile_setup
    sqls = [h[0].format(folder=folder) for h in HOSTILE]
    results = v.verify_batch(
        [f"```sql\n{s}\n```" for s in sqls], [GOLD] * len(sqls), [{"db_path": str(db)}] * len(sqls)
    )
    assert all(r.reason in h[1] for r, h in zip(results, HOSTILE, strict=True)), [r.reason for r in results]
