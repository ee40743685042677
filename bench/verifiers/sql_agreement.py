"""Agreement of SQL execution-match rules with hand labels, on the same labelled set.

    .venv/bin/python bench/verifiers/sql_agreement.py [--holdout] [--show-misses]

The set: tests/verifiers/data/sql_labelled.jsonl, (gold, prediction) pairs over three databases (the
bundled shop, and `ledger` / `events` with NULLs, ties, duplicates, large REALs and epoch seconds),
each labelled by reasoning about the question, with debatable pairs marked; every database has a
suite of 8 variants (tests/verifiers/vf_db.py). --holdout scores sql_labelled_holdout.jsonl instead:
pairs written and labelled after the verifier and the suites were frozen. Rules compared:
  rlvr sql verifier     this repository's verifier (pool, default options), with and without the suite
  Spider exec_eval      Spider's execution match as its evaluation script describes it: results equal
                        if some permutation of the prediction's columns makes them equal, as lists when
                        the gold's text contains "order by", else as multisets; values compared with ==
  Spider test suite     the same rule, required on the main database and every suite variant
  BIRD                  BIRD's execution accuracy: set(prediction rows) == set(gold rows)
Spider's and BIRD's rules are re-implemented here from those descriptions. Numbers go to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "verifiers"))  # the labelled set's database builders live beside it

from vf_db import HOLDOUT, LABELLED, build_labelled_dbs, load_labelled  # noqa: E402

from verifiers import get_verifier  # noqa: E402
from verifiers.sql.sandbox import run_query  # noqa: E402


def execute(db: str, sql: str) -> list[tuple] | None:
    return run_query(db, sql, timeout=5.0, max_rows=100_000).rows


def spider_equal(gold: list[tuple], pred: list[tuple], order_matters: bool) -> bool:
    if len(gold) != len(pred):
        return False
    if not gold:
        return True
    width = len(gold[0])
    if len(pred[0]) != width:
        return False
    for perm in itertools.permutations(range(width)):
        moved = [tuple(row[i] for i in perm) for row in pred]
        if (moved == gold) if order_matters else (Counter(moved) == Counter(gold)):
            return True
    return False


def spider_rule(gold_sql: str, pred_sql: str, dbs: list[str]) -> bool:
    order_matters = "order by" in gold_sql.lower()
    for db in dbs:
        gold, pred = execute(db, gold_sql), execute(db, pred_sql)
        if gold is None or pred is None or not spider_equal(gold, pred, order_matters):
            return False
    return True


def bird_rule(gold_sql: str, pred_sql: str, db: str) -> bool:
    gold, pred = execute(db, gold_sql), execute(db, pred_sql)
    return gold is not None and pred is not None and set(gold) == set(pred)


def suite_of(meta: dict[str, str]) -> list[str]:
    return [meta["db_path"], *sorted(str(p) for p in Path(meta["db_suite"]).glob("*.sqlite"))]


def rlvr_rule(rows: list[dict], metas: dict[str, dict], *, suite: int | None) -> list[bool]:
    """The verifier's correct flags; suite=None uses every variant, else the first `suite` of them."""
    with get_verifier("sql", workers=2) as v:
        meta = []
        for r in rows:
            m = metas[r["db"]]
            variants = suite_of(m)[1:] if suite is None else suite_of(m)[1 : 1 + suite]
            meta.append({"db_path": m["db_path"], "db_suite": variants})
        got = v.verify_batch([f"```sql\n{r['pred']}\n```" for r in rows], [r["gold"] for r in rows], meta)
    return [x.correct for x in got]


def score(rows: list[dict], verdicts: list[bool]) -> dict:
    clear = [(r, v) for r, v in zip(rows, verdicts, strict=True) if not r["debatable"]]
    debatable = [(r, v) for r, v in zip(rows, verdicts, strict=True) if r["debatable"]]
    return {
        "agree": sum(r["label"] == v for r, v in clear) / len(clear),
        "fp": [r["id"] for r, v in clear if v and not r["label"]],
        "fn": [r["id"] for r, v in clear if r["label"] and not v],
        "debatable_agree": sum(r["label"] == v for r, v in debatable),
        "n_clear": len(clear),
        "n_debatable": len(debatable),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--show-misses", action="store_true", help="print the ids each rule gets wrong")
    ap.add_argument("--holdout", action="store_true", help="score the pairs written after the code froze")
    args = ap.parse_args()
    rows = load_labelled(HOLDOUT if args.holdout else LABELLED)
    metas = build_labelled_dbs(Path(tempfile.mkdtemp(prefix="sql-agreement-")))
    rules = {
        "rlvr sql verifier, db_path + 8-variant suite": rlvr_rule(rows, metas, suite=None),
        "rlvr sql verifier, db_path only": rlvr_rule(rows, metas, suite=0),
        "Spider exec_eval rule, db_path only": [
            spider_rule(r["gold"], r["pred"], suite_of(metas[r["db"]])[:1]) for r in rows
        ],
        "Spider exec_eval rule, db_path + 8-variant suite": [
            spider_rule(r["gold"], r["pred"], suite_of(metas[r["db"]])) for r in rows
        ],
        "BIRD set comparison, db_path only": [
            bird_rule(r["gold"], r["pred"], metas[r["db"]]["db_path"]) for r in rows
        ],
    }
    s0 = score(rows, [False] * len(rows))
    n_pos = sum(r["label"] for r in rows if not r["debatable"])
    print(
        f"{len(rows)} pairs: {s0['n_clear']} clear ({n_pos} correct, {s0['n_clear'] - n_pos} wrong), {s0['n_debatable']} debatable\n"
    )
    print(
        "| rule | agreement (clear pairs) | false positives | false negatives | debatable pairs agreeing with the label |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, verdicts in rules.items():
        s = score(rows, verdicts)
        print(
            f"| {name} | {s['agree']:.1%} | {len(s['fp'])} | {len(s['fn'])} | {s['debatable_agree']} of {s['n_debatable']} |"
        )
    if not args.holdout:
        print("\nFalse positives of the rlvr verifier by suite size (first k variants of each database):\n")
        print("| suite variants | false positives | false negatives |\n| ---: | ---: | ---: |")
    for k in (0, 1, 2, 4, 8) if not args.holdout else ():
        s = score(
            rows,
            rules["rlvr sql verifier, db_path + 8-variant suite"]
            if k == 8
            else rlvr_rule(rows, metas, suite=k),
        )
        print(f"| {k} | {len(s['fp'])} | {len(s['fn'])} |")
    if args.show_misses:
        for name, verdicts in rules.items():
            s = score(rows, verdicts)
            print(f"\n{name}\n  false positives: {' '.join(s['fp'])}\n  false negatives: {' '.join(s['fn'])}")


if __name__ == "__main__":
    os.environ.setdefault("RLVR_CACHE", tempfile.mkdtemp(prefix="rlvr-cache-"))
    main()
