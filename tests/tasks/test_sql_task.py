"""The bundled text-to-SQL task: deterministic database, disjoint splits, gold queries that verify."""

import sqlite3
from collections import Counter

import pytest

from rlvr.data import load_prompts
from rlvr.tasks.sql import build_database, generate


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


def test_every_gold_query_has_a_non_trivial_answer_and_verifies():
    from verifiers import get_verifier

    rows = generate("train") + generate("test")
    conn = sqlite3.connect(rows[0]["db_path"])
    for r in rows:
        assert conn.execute(r["answer"]).fetchall() not in ([], [(None,)], [(0,)]), r["question"]
    v = get_verifier("sql")
    try:
        results = v.verify_batch(
            [f"```sql\n{r['answer']}\n```" for r in rows],
            [r["answer"] for r in rows],
            [{"db_path": r["db_path"]} for r in rows],
        )
        assert all(x.correct for x in results)
        wrong = v.verify(
            "```sql\nSELECT name FROM customers\n```", rows[0]["answer"], db_path=rows[0]["db_path"]
        )
        assert not wrong.correct
    finally:
        v.close()


def test_loads_through_the_data_config_with_db_path_metadata():
    prompts = load_prompts("bundled:sql/test", metadata_keys=["db_path"])
    assert prompts[0].metadata["db_path"].endswith(".sqlite") and "Database schema" in prompts[0].text


def test_worked_examples_run_and_are_no_question_of_the_task():
    from rlvr.tasks.sql import EXAMPLES, all_questions

    rows = generate("test")
    conn = sqlite3.connect(rows[0]["db_path"])
    grid_sql = {gold.split(" WHERE ")[0] for _, _, gold in all_questions()}
    for question, sql in EXAMPLES:
        assert conn.execute(sql).fetchall() not in ([], [(None,)], [(0,)])
        assert sql.split(" WHERE ")[0] not in grid_sql  # a shape the task never asks for
        assert all(question in r["prompt"] and sql in r["prompt"] for r in rows)
