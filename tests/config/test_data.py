"""Prompt loading from every source kind, and errors that name the file, row and key."""

import json

import pytest

from rlvr.data import load_prompts
from rlvr.data.cycle import SeededCycle
from rlvr.tasks.arith import generate


def test_bundled_arith_is_deterministic_and_splits_are_disjoint():
    assert generate("train") == generate("train")
    train = {r["question"] for r in generate("train")}
    test = {r["question"] for r in generate("test")}
    assert len(train) == 2000 and len(test) == 200 and not train & test
    for row in generate("test")[:30]:
        assert int(row["answer"]) >= 0 or row["level"] > 1


def test_jsonl_and_parquet_load_the_same(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        {"id": f"q{i}", "question": f"What is {i} + 1?", "solution": str(i + 1), "db": "x.sqlite"}
        for i in range(5)
    ]
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "d.parquet")
    kw = {"prompt_key": "question", "answer_key": "solution", "metadata_keys": ["db"]}
    a = load_prompts(str(tmp_path / "d.jsonl"), **kw)
    b = load_prompts(str(tmp_path / "d.parquet"), **kw)
    assert (
        a == b
        and a[2].text == "What is 2 + 1?"
        and a[2].answer == "3"
        and a[2].metadata == {"db": "x.sqlite"}
    )


def test_missing_key_names_file_row_and_key(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"prompt": "a", "answer": "1"}\n{"prompt": "b"}\n')
    with pytest.raises(KeyError, match=r"d.jsonl row 2: missing key 'answer'"):
        load_prompts(str(path))


def test_invalid_json_names_the_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"prompt": "a", "answer": "1"}\n\n{"prompt": oops}\n')
    with pytest.raises(ValueError, match=r"d.jsonl:3: invalid JSON"):
        load_prompts(str(path))


def test_duplicate_ids_are_refused(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": 1, "prompt": "a", "answer": "1"}\n{"id": 1, "prompt": "b", "answer": "2"}\n')
    with pytest.raises(ValueError, match="duplicate id '1'"):
        load_prompts(str(path))


def test_seeded_cycle_covers_each_epoch_and_resumes_exactly():
    c = SeededCycle(7, seed=3)
    first = c.take(7)
    assert sorted(first) == list(range(7))
    c.take(3)
    state = c.state()
    expected = c.take(12)
    d = SeededCycle(7, seed=3)
    d.load_state(state)
    assert d.take(12) == expected
    assert SeededCycle(7, seed=4).take(7) != first


def test_where_keeps_rows_by_column_value_before_limit(tmp_path):
    from rlvr.config import compose_config
    from rlvr.data import load_split

    cfg = compose_config(["data=sql", "+data.where={level: [1, 2]}"])
    tok = type("Tok", (), {"__call__": lambda self, text, **kw: {"input_ids": [0] * 3}})()
    cfg.model.chat_template = False
    prompts, _ = load_split(cfg.data, cfg.model, tok, split="test")
    from rlvr.tasks.sql import generate

    easy = [r for r in generate("test") if r["level"] <= 2]
    assert [p.id for p in prompts] == [r["id"] for r in easy] and 0 < len(easy) < len(generate("test"))
    assert [p.id for p in load_prompts("bundled:sql/test", where={"level": [3]}, limit=2)] == [
        r["id"] for r in generate("test") if r["level"] == 3
    ][:2]


def test_where_naming_a_missing_column_or_matching_nothing_fails_clearly(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"prompt": "a", "answer": "1", "level": 1}\n{"prompt": "b", "answer": "2"}\n')
    with pytest.raises(KeyError, match=r"d.jsonl row 2: data.where names column 'level'"):
        load_prompts(str(path), where={"level": [1]})
    with pytest.raises(ValueError, match="no row matches"):
        load_prompts(str(path), where={"prompt": ["zzz"]})
