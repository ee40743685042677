"""The SQL verifier: execution match (bag / ordered / floats), extraction, reasons, gold cache."""

from __future__ import annotations

import pytest

from verifiers import Reason, get_verifier
from verifiers.sql.compare import gold_is_ordered, same_result
from verifiers.sql.extract import extract_sql


def fenced(sql: str) -> str:
    return f"Here you go:\n```sql\n{sql}\n```\n"


GOLD_BAG = "SELECT name FROM customers WHERE city = 'paris'"
GOLD_ORDERED = "SELECT name FROM customers ORDER BY name DESC"


@pytest.mark.parametrize(
    "pred, gold, reason",
    [
        ("SELECT name FROM customers WHERE city = 'paris'", GOLD_BAG, Reason.OK),
        (
            "SELECT name FROM customers WHERE city = 'paris' ORDER BY id DESC",
            GOLD_BAG,
            Reason.OK,
        ),  # bag: order free
        ("SELECT name FROM customers WHERE city IN ('paris', 'rome')", GOLD_BAG, Reason.WRONG),
        (
            "SELECT c.name FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.city = 'paris'",
            GOLD_BAG,
            Reason.WRONG,
        ),  # duplicates count
        ("SELECT name FROM customers ORDER BY name DESC", GOLD_ORDERED, Reason.OK),
        ("SELECT name FROM customers ORDER BY name", GOLD_ORDERED, Reason.WRONG),
        ("SELECT name FROM customers ORDER BY 1 DESC", GOLD_ORDERED, Reason.OK),
        ("SELECT name FROM customers ORDER BY name", GOLD_ORDERED + "; -- newest first", Reason.WRONG),
        ("SELECT name FROM customers ORDER BY name DESC; -- done", GOLD_ORDERED + "; -- note", Reason.OK),
        # an ORDER BY inside a subquery does not make the gold order-sensitive
        (
            "SELECT name FROM customers",
            "SELECT name FROM (SELECT name FROM customers ORDER BY name)",
            Reason.OK,
        ),
        # floats: 0.1 + 0.2 vs 0.3, and REAL vs INTEGER of equal value
        ("SELECT SUM(price) FROM products WHERE id IN (3, 4)", "SELECT 0.3", Reason.OK),
        ("SELECT 2.0", "SELECT COUNT(*) FROM customers WHERE city = 'paris'", Reason.OK),
        ("SELECT 0.31", "SELECT 0.3", Reason.WRONG),
        ("SELECT 1512345675", "SELECT 1512345678", Reason.WRONG),
        (
            "SELECT 1512345675.0",
            "SELECT 1512345678.0",
            Reason.WRONG,
        ),  # REALs: 9 significant digits merged these
        ("SELECT 1700000004.0", "SELECT 1700000001.0", Reason.WRONG),  # epoch seconds stored as REAL
        ("SELECT 1700000001", "SELECT 1700000001.0", Reason.OK),
        ("SELECT 12345678.87", "SELECT 12345678.90", Reason.WRONG),
        (
            "SELECT name, city FROM customers",
            "SELECT city, name FROM customers",
            Reason.WRONG,
        ),  # column order matters
        ("SELEC name FROM customers", GOLD_BAG, Reason.SYNTAX_ERROR),
        ("SELECT nme FROM customers", GOLD_BAG, Reason.RUNTIME_ERROR),
        ("SELECT * FROM missing_table", GOLD_BAG, Reason.RUNTIME_ERROR),
    ],
)
def test_execution_match(sql_verifier, shop_db, pred, gold, reason):
    result = sql_verifier.verify(fenced(pred), gold, db_path=str(shop_db))
    assert result.reason is reason, result


def test_extraction_strategies_and_format():
    assert extract_sql("```sql\nSELECT 1\n```\n```sql\nSELECT 2\n```", ("sql_fence",)) == (
        "SELECT 2",
        "sql_fence",
    )
    assert extract_sql("```\nSELECT 3\n```", ("sql_fence", "fence")) == ("SELECT 3", "fence")
    assert extract_sql("  select 4", ("sql_fence", "fence", "raw")) == ("select 4", "raw")
    assert extract_sql("I would select 4", ("sql_fence", "fence", "raw")) is None


def test_unparseable_missing_metadata_and_bad_gold(sql_verifier, shop_db):
    db = str(shop_db)
    results = sql_verifier.verify_batch(
        ["no sql here", fenced("SELECT 1"), fenced("SELECT 1"), fenced("SELECT 1")],
        [GOLD_BAG, GOLD_BAG, "SELEC broken", GOLD_BAG],
        [{"db_path": db}, {}, {"db_path": db}, {"db_path": str(shop_db.parent / "absent.db")}],
    )
    assert [r.reason for r in results] == [Reason.UNPARSEABLE, Reason.ERROR, Reason.ERROR, Reason.ERROR]
    assert "db_path" in results[1].detail and "gold query failed" in results[2].detail
    assert not (shop_db.parent / "absent.db").exists()


def test_format_bonus_only_for_sql_fence(shop_db):
    with get_verifier("sql", workers=1, score_format=0.25, score_unparseable=-1) as v:
        got = v.verify_batch(
            [fenced(GOLD_BAG), GOLD_BAG, "nothing"], [GOLD_BAG] * 3, [{"db_path": str(shop_db)}] * 3
        )
    assert [r.score for r in got] == [1.25, 1.0, -1.0]


def test_gold_ordering_is_decided_by_the_parse_tree():
    assert gold_is_ordered("SELECT a FROM t ORDER BY a")
    assert gold_is_ordered("WITH x AS (SELECT a FROM t) SELECT a FROM x ORDER BY a LIMIT 3")
    assert gold_is_ordered("SELECT a FROM t UNION SELECT b FROM u ORDER BY 1")
    assert not gold_is_ordered("SELECT a FROM (SELECT a FROM t ORDER BY a)")
    assert not gold_is_ordered("WITH x AS (SELECT a FROM t ORDER BY a) SELECT a FROM x")
    assert not gold_is_ordered("SELECT 'ORDER BY' AS a FROM t")  # a regex would say yes
    assert not gold_is_ordered("SELECT a FROM t -- ORDER BY a")
    # a trailing statement separator and comment make sqlglot return a block: the first statement counts
    assert gold_is_ordered("SELECT a FROM t ORDER BY a; -- note")
    assert gold_is_ordered("SELECT a FROM t ORDER BY a;")
    assert not gold_is_ordered("SELECT a FROM t; -- ORDER BY a")


def test_same_result_semantics():
    assert same_result([(1,), (1,), (2,)], [(2,), (1,), (1,)], ordered=False)
    assert not same_result([(1,), (1,), (2,)], [(2,), (2,), (1,)], ordered=False)
    assert not same_result([(1,), (2,)], [(2,), (1,)], ordered=True)
    assert same_result([(0.30000000000000004, "a")], [(0.3, "a")], ordered=True)
    assert same_result([(None, float("nan"))], [(None, float("nan"))], ordered=True)
    assert same_result([(None, float("nan"))], [(None, float("nan"))], ordered=False)
    assert not same_result([(None,)], [(0,)], ordered=False) and not same_result(
        [("1",)], [(1,)], ordered=False
    )


@pytest.mark.parametrize(
    "gold, pred, same",
    [
        (1_512_345_678, 1_512_345_675, False),  # distinct integers never merge (9 digits merged these)
        (1_512_345_678, 1_512_345_678.0, True),  # INTEGER vs REAL of the same value
        (1_700_000_000, 1_700_000_001, False),  # epoch seconds one second apart
        (1_700_000_000.0, 1_700_000_009.0, False),  # integral REALs too
        (12_345_678.90, 12_345_678.87, False),  # cents of a large REAL
        (1_512_345_678.90, 1_512_345_678.87, False),  # cents at 1.5e9: 2e-11 relative
        (1_234_567_890, 1_234_567_890.5, False),  # CAST(x AS INTEGER) of a REAL with a fraction
        (12_345_678.90, 12_345_678.90 + 1e-8, True),  # summation-order noise
        (0.1 + 0.2, 0.3, True),
        (1 / 3, 0.3333333, False),  # 7 digits is not the value
        (99999999.95, 99999999.949999, True),  # 1e-14 apart relatively, but 9 digits round them apart
        (2.5, 2, False),  # integer division is not AVG
        (float("inf"), float("inf"), True),
        (float("inf"), 1e308, False),
        (0.0, 1e-12, True),  # abs_tol near zero
        (3, 3.0000000001, True),
    ],
)
def test_number_tolerance_never_merges_distinct_integers(gold, pred, same):
    assert same_result([(gold,)], [(pred,)], ordered=False) is same
    assert same_result([(gold, "x")], [(pred, "x")], ordered=True) is same


def test_bag_with_tolerance_pairs_rows_by_their_other_cells():
    gold = [(0.1 + 0.2, "a"), (0.3, "b"), (7, None)]
    assert same_result(gold, [(7, None), (0.3, "a"), (0.1 + 0.2, "b")], ordered=False)
    assert not same_result(gold, [(7, None), (0.3, "a"), (0.31, "b")], ordered=False)
    assert not same_result(gold, [(7, "x"), (0.3, "a"), (0.3, "b")], ordered=False)
    assert not same_result([(1.5,), (1.5,)], [(1.5,), (1.5 + 1e-3,)], ordered=False)


def test_tolerance_options(shop_db):
    with get_verifier("sql", workers=1, rel_tol=0.0, abs_tol=0.0) as v:
        assert (
            v.judge(fenced("SELECT 0.1 + 0.2"), "SELECT 0.3", {"db_path": str(shop_db)}).reason
            is Reason.WRONG
        )
    with pytest.raises(ValueError, match="rel_tol"):
        get_verifier("sql", rel_tol=0.01)


def test_gold_results_are_cached_per_database_and_query(shop_db):
    from verifiers.sql import _gold

    _gold.cache_clear()
    db, stamp = str(shop_db), (1, 1)
    for _ in range(3):
        _gold(db, stamp, GOLD_BAG, 1.0, 100)
    _gold(db, (2, 1), GOLD_BAG, 1.0, 100)  # the database file changed: a new entry
    info = _gold.cache_info()
    assert (info.hits, info.misses) == (2, 2)


BY_CITY = "SELECT name FROM customers ORDER BY city"  # ann and cy both live in paris: a tie


@pytest.mark.parametrize(
    "pred, gold, reason",
    [
        (
            "SELECT name FROM customers ORDER BY city, name DESC",
            BY_CITY,
            Reason.OK,
        ),  # cy before ann: tie broken otherwise
        ("SELECT name FROM customers ORDER BY city, name", BY_CITY, Reason.OK),
        (
            "SELECT name FROM customers ORDER BY city DESC",
            BY_CITY,
            Reason.WRONG,
        ),  # the order outside the tie counts
        ("SELECT name FROM customers ORDER BY name", BY_CITY, Reason.WRONG),
        ("SELECT name FROM customers ORDER BY city, name DESC", BY_CITY + "; -- paris tie", Reason.OK),
        (
            "SELECT name, city FROM customers ORDER BY 2, 1 DESC",
            "SELECT name, city AS c FROM customers ORDER BY c",
            Reason.OK,
        ),
        (
            "SELECT customer_id FROM orders GROUP BY customer_id ORDER BY COUNT(*) DESC, customer_id",
            "SELECT customer_id FROM orders GROUP BY customer_id ORDER BY COUNT(*) DESC",
            Reason.OK,
        ),  # 1, 2, 3 tie at 2 orders; the gold lists 3, 2, 1
        (
            "SELECT customer_id FROM orders GROUP BY customer_id ORDER BY COUNT(*), customer_id",
            "SELECT customer_id FROM orders GROUP BY customer_id ORDER BY COUNT(*) DESC",
            Reason.WRONG,
        ),
    ],
)
def test_rows_tied_on_the_gold_order_keys_may_come_in_any_order(sql_verifier, shop_db, pred, gold, reason):
    result = sql_verifier.verify(fenced(pred), gold, db_path=str(shop_db))
    assert result.reason is reason, result


def test_order_key_rewrite_and_tie_runs():
    from verifiers.sql.ties import tie_runs, with_order_keys

    sql, k = with_order_keys("SELECT name, price AS p FROM products ORDER BY p DESC, 1; -- note")
    assert k == 2 and sql.startswith(
        "SELECT name, price AS p, price AS __rlvr_order_key_0, name AS __rlvr_order_key_1 "
    )
    assert (
        with_order_keys("SELECT DISTINCT a FROM t ORDER BY a") is None
    )  # extra columns would change DISTINCT
    assert with_order_keys("SELECT a FROM t UNION SELECT b FROM u ORDER BY 1") is None
    assert with_order_keys("SELECT * FROM t ORDER BY a") is None
    assert with_order_keys("SELECT a FROM t ORDER BY 3") is None
    assert tie_runs([(1,), (2,), (2,), (None,), (None,)]) == (1, 2, 2) and tie_runs([]) == ()
    assert same_result([(1,), (2,), (3,)], [(1,), (3,), (2,)], ordered=True, ties=(1, 2))
    assert not same_result([(1,), (2,), (3,)], [(2,), (1,), (3,)], ordered=True, ties=(1, 2))
