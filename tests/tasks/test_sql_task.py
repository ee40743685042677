"""The bundled text-to-SQL task: deterministic database, disjoint splits, gold queries that verify."""

import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from rlvr.data import load_prompts
from rlvr.tasks.sql import CITIES, SUITE_SIZE, all_questions, build_database, generate


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RLVR_CACHE", str(tmp_path))


def test_splits_are_disjoint_deterministic_and_cover_every_level():
    train, test = generate("train"), generate("test")
    assert generate("test") == test
    assert not {r["question"] for r in train} & {r["question"] for r in test}
    assert len({r["question"] for r in train}) == len(train)  # no repeats
    assert set(Counter(r["level"] for r in train)) == set(Counter(r["level"] for r in test)) == {1, 2, 3, 4}


def test_database_is_deterministic(tmp_path):
    a, b = build_database(tmp_path / "a.sqlite"), build_database(tmp_path / "b.sqlite")
    dump = lambda p: list(sqlite3.connect(p).iterdump())  # noqa: E731
    assert dump(a) == dump(b)
    assert dump(a) != dump(build_database(tmp_path / "c.sqlite", seed=1))


def databases(row: dict) -> list[str]:
    return [row["db_path"], *sorted(str(p) for p in Path(row["db_suite"]).glob("*.sqlite"))]


def test_every_gold_query_has_a_non_trivial_answer_and_verifies_on_the_whole_suite():
    from verifiers import get_verifier

    rows = generate("train") + generate("test")
    conn = sqlite3.connect(rows[0]["db_path"])
    for r in rows:
        assert conn.execute(r["answer"]).fetchall() not in ([], [(None,)], [(0,)]), r["question"]
    v = get_verifier("sql")
    try:
        meta = [{"db_path": r["db_path"], "db_suite": r["db_suite"]} for r in rows]
        results = v.verify_batch(
            [f"```sql\n{r['answer']}\n```" for r in rows], [r["answer"] for r in rows], meta
        )
        assert all(x.correct and f"{SUITE_SIZE} suite databases" in x.detail for x in results), results
        wrong = v.verify("```sql\nSELECT name FROM customers\n```", rows[0]["answer"], **meta[0])
        assert not wrong.correct
    finally:
        v.close()


def test_no_gold_answer_is_constant_over_the_suite():
    """A gold whose result is the same on every database would let a constant query through the suite:
    each one takes at least 3 different results on the 1 + 8 databases (city counts vary least)."""
    row = generate("test")[0]
    conns = [sqlite3.connect(p) for p in databases(row)]
    assert len(conns) == 1 + SUITE_SIZE
    for _, question, gold in all_questions():
        results = {repr(c.execute(gold).fetchall()) for c in conns}
        assert len(results) >= 3, (question, results)


def test_counts_are_not_uniform_and_a_constant_fails_the_suite():
    """Version 1 gave every city 2 customers: `SELECT 2` answered all six count questions."""
    from verifiers import get_verifier

    row = generate("test")[0]
    main = sqlite3.connect(row["db_path"])
    counts = Counter(n for (n,) in main.execute("SELECT COUNT(*) FROM customers GROUP BY city"))
    assert len(counts) > 1 and max(counts.values()) <= 2, counts
    golds = [f"SELECT COUNT(*) FROM customers WHERE city = '{city}'" for city in CITIES]
    constants = [
        f"```sql\nSELECT {main.execute(g).fetchone()[0]}\n```" for g in golds
    ]  # right on the main db
    with get_verifier("sql", workers=1) as v:
        alone = v.verify_batch(constants, golds, [{"db_path": row["db_path"]}] * len(golds))
        suite = v.verify_batch(
            constants, golds, [{"db_path": row["db_path"], "db_suite": row["db_suite"]}] * len(golds)
        )
    assert all(r.correct for r in alone) and not any(r.correct for r in suite), suite


def test_variants_differ_in_counts_and_keep_rankings_free_of_ties():
    sizes = set()
    for path in databases(generate("test")[0]):
        conn = sqlite3.connect(path)
        sizes.add(
            tuple(
                conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("customers", "products", "orders")
            )
        )
        spend = conn.execute(
            "SELECT SUM(o.quantity * p.price) FROM orders o JOIN products p ON o.product_id = p.id GROUP BY o.customer_id"
        ).fetchall()
        units = conn.execute("SELECT SUM(quantity) FROM orders GROUP BY product_id").fetchall()
        assert len(set(spend)) == len(spend) and len(set(units)) == len(units), path
        # every city, customer and product appears, so no question sums over nothing
        assert conn.execute("SELECT COUNT(DISTINCT city) FROM customers").fetchone()[0] == len(CITIES)
        assert (
            conn.execute(
                "SELECT COUNT(*) FROM customers WHERE id NOT IN (SELECT customer_id FROM orders)"
            ).fetchone()[0]
            == 0
        )
        assert (
            conn.execute(
                "SELECT COUNT(*) FROM products WHERE id NOT IN (SELECT product_id FROM orders)"
            ).fetchone()[0]
            == 0
        )
    assert len(sizes) >= SUITE_SIZE - 1, sizes


def test_suite_is_deterministic(tmp_path):
    a = build_database(tmp_path / "a.sqlite", seed=0, variant=3)
    b = build_database(tmp_path / "b.sqlite", seed=0, variant=3)
    dump = lambda p: list(sqlite3.connect(p).iterdump())  # noqa: E731
    assert dump(a) == dump(b) != dump(build_database(tmp_path / "c.sqlite", seed=0, variant=4))


def test_loads_through_the_data_config_with_db_path_metadata():
    prompts = load_prompts("bundled:sql/test", metadata_keys=["db_path", "db_suite"])
    assert prompts[0].metadata["db_path"].endswith(".sqlite") and "Database schema" in prompts[0].text
    assert len(list(Path(prompts[0].metadata["db_suite"]).glob("*.sqlite"))) == SUITE_SIZE


def test_worked_examples_run_and_are_no_question_of_the_task():
    from rlvr.tasks.sql import EXAMPLES

    rows = generate("test")
    conn = sqlite3.connect(rows[0]["db_path"])
    grid_sql = {gold.split(" WHERE ")[0] for _, _, gold in all_questions()}
    for question, sql in EXAMPLES:
        assert conn.execute(sql).fetchall() not in ([], [(None,)], [(0,)])
        assert sql.split(" WHERE ")[0] not in grid_sql  # a shape the task never asks for
        assert all(question in r["prompt"] and sql in r["prompt"] for r in rows)
