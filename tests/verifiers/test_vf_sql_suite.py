"""Test-suite execution: a prediction must match the gold on db_path and on every variant of db_suite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from vf_db import make_shop

from verifiers import Reason, get_verifier

COUNT_PARIS = "SELECT COUNT(*) FROM customers WHERE city = 'paris'"


def fenced(sql: str) -> str:
    return f"```sql\n{sql}\n```"


def variant(folder: Path, name: str, script: str) -> Path:
    """The shop database changed by `script` (other counts and values, same schema)."""
    path = make_shop(folder)
    conn = sqlite3.connect(path)
    conn.executescript(script)
    conn.commit()
    conn.close()
    return path.rename(folder / name)


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    main = make_shop(tmp_path_factory.mktemp("main"))  # paris has 2 customers, like rome + oslo together
    folder = tmp_path_factory.mktemp("suite")
    variant(folder, "v1.sqlite", "INSERT INTO customers VALUES (5, 'eve', 'paris');")  # paris: 3
    variant(folder, "v2.sqlite", "UPDATE customers SET city = 'rome' WHERE id = 4;")  # oslo: 0
    (folder / "notes.txt").write_text("not a database")
    return main, folder


@pytest.fixture(scope="module")
def verifier():
    with get_verifier("sql", workers=1, timeout=1.0) as v:
        yield v


@pytest.mark.parametrize(
    "pred, alone, with_suite",
    [
        (COUNT_PARIS, Reason.OK, Reason.OK),
        ("SELECT 2", Reason.OK, Reason.WRONG),  # a constant equal to the count
        (
            "SELECT COUNT(*) FROM customers WHERE city != 'paris'",
            Reason.OK,
            Reason.WRONG,
        ),  # another filter, same count
        ("SELECT COUNT(*) FROM customers WHERE id IN (1, 3)", Reason.OK, Reason.WRONG),  # the same rows by id
        ("SELECT COUNT(DISTINCT city) FROM customers WHERE city <> 'rome'", Reason.OK, Reason.WRONG),
        ("SELECT 3", Reason.WRONG, Reason.WRONG),
    ],
)
def test_a_suite_catches_coincidences_one_database_accepts(verifier, suite, pred, alone, with_suite):
    main, folder = suite
    assert verifier.judge(fenced(pred), COUNT_PARIS, {"db_path": str(main)}).reason is alone
    got = verifier.judge(fenced(pred), COUNT_PARIS, {"db_path": str(main), "db_suite": str(folder)})
    assert got.reason is with_suite, got
    if alone is Reason.OK and with_suite is Reason.WRONG:
        assert "suite database 1/2 (v1.sqlite)" in got.detail


def test_suite_as_a_list_and_as_a_directory_agree(verifier, suite):
    main, folder = suite
    as_list = [str(main), str(folder / "v2.sqlite"), str(folder / "v1.sqlite")]  # db_path itself is skipped
    ok = verifier.judge(fenced(COUNT_PARIS), COUNT_PARIS, {"db_path": str(main), "db_suite": as_list})
    assert ok.reason is Reason.OK and "2 suite databases" in ok.detail
    empty = "SELECT name FROM customers WHERE city = 'oslo'"
    got = verifier.judge(
        fenced("SELECT name FROM customers WHERE id = 4"), empty, {"db_path": str(main), "db_suite": as_list}
    )
    assert got.reason is Reason.WRONG and "v2.sqlite" in got.detail  # the list's order is kept


def test_first_mismatch_stops_before_later_databases(verifier, suite):
    main, folder = suite
    meta = {"db_path": str(main), "db_suite": [str(folder / "absent.sqlite")]}
    assert verifier.judge(fenced("SELECT 3"), COUNT_PARIS, meta).reason is Reason.WRONG
    missing = verifier.judge(fenced(COUNT_PARIS), COUNT_PARIS, meta)
    assert missing.reason is Reason.ERROR and "absent.sqlite" in missing.detail


@pytest.mark.parametrize(
    "db_suite, message",
    [
        ("{tmp}/nowhere", "nowhere"),
        ("{tmp}/empty", "holds no"),
        ("{main}", "is a file"),
        (7, "is a int"),
        (["{main}", 3], "item 1"),
    ],
)
def test_bad_suite_metadata_is_an_error_naming_the_key(verifier, suite, tmp_path, db_suite, message):
    main, _ = suite
    (tmp_path / "empty").mkdir()
    fill = lambda s: s.format(tmp=tmp_path, main=main) if isinstance(s, str) else s  # noqa: E731
    value = [fill(x) for x in db_suite] if isinstance(db_suite, list) else fill(db_suite)
    got = verifier.judge(fenced(COUNT_PARIS), COUNT_PARIS, {"db_path": str(main), "db_suite": value})
    assert got.reason is Reason.ERROR and "db_suite" in got.detail and message in got.detail, got


def test_gold_failing_or_prediction_failing_on_a_variant(verifier, tmp_path, suite):
    main, _ = suite
    odd = variant(tmp_path, "odd.sqlite", "ALTER TABLE customers RENAME COLUMN city TO town;")
    meta = {"db_path": str(main), "db_suite": [str(odd)]}
    gold = verifier.judge(fenced("SELECT 2"), COUNT_PARIS, meta)  # right on the main database
    assert (
        gold.reason is Reason.ERROR and "gold query failed on suite database 1/1 (odd.sqlite)" in gold.detail
    )
    pred = verifier.judge(fenced("SELECT COUNT(*) FROM customers WHERE city = 'paris'"), "SELECT 2", meta)
    assert pred.reason is Reason.RUNTIME_ERROR and "no such column: city on suite database 1/1" in pred.detail
    ok_gold = "SELECT COUNT(*) FROM customers"
    bad = verifier.judge(fenced("SELECT COUNT(city) FROM customers"), ok_gold, meta)
    assert bad.reason is Reason.RUNTIME_ERROR and "odd.sqlite" in bad.detail


def test_gold_results_are_cached_per_variant(verifier, suite):
    from verifiers.sql import _gold

    main, folder = suite
    _gold.cache_clear()
    meta = {"db_path": str(main), "db_suite": str(folder)}
    for _ in range(3):
        assert verifier.judge(fenced(COUNT_PARIS), COUNT_PARIS, meta).reason is Reason.OK
    info = _gold.cache_info()
    assert (info.misses, info.hits) == (3, 6)  # 3 databases, each gold query run once


def test_suite_through_the_pool(suite):
    main, folder = suite
    with get_verifier("sql", workers=1, timeout=1.0) as v:
        got = v.verify_batch(
            [fenced("SELECT 2"), fenced(COUNT_PARIS)],
            [COUNT_PARIS] * 2,
            [{"db_path": str(main), "db_suite": str(folder)}] * 2,
        )
    assert [r.reason for r in got] == [Reason.WRONG, Reason.OK]


def test_all_queries_of_a_response_share_one_time_budget(suite, monkeypatch):
    """2 x timeout for the whole suite (the pool kills the worker at 2 x timeout + 1): a clock that
    moves 1 s per look runs out before the second database."""
    import verifiers.sql as sql_module

    main, folder = suite
    ticks = iter(range(100))
    monkeypatch.setattr(sql_module, "monotonic", lambda: float(next(ticks)))
    v = get_verifier("sql", workers=1, timeout=1.0)
    got = v.judge(fenced(COUNT_PARIS), COUNT_PARIS, {"db_path": str(main), "db_suite": str(folder)})
    assert got.reason is Reason.TIMEOUT and "before database 2 of 3" in got.detail, got
