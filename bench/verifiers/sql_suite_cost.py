"""What test-suite execution costs: SQL verifications per second on the bundled task's 98 questions,
with db_path alone and with its 8-variant suite, for right answers (the gold itself: every database
runs) and wrong ones (`SELECT 2`: stops at the first mismatch). In-process `judge`, gold cache warm.

    .venv/bin/python bench/verifiers/sql_suite_cost.py
"""

from __future__ import annotations

import os
import tempfile
import time

os.environ.setdefault("RLVR_CACHE", tempfile.mkdtemp(prefix="rlvr-cache-"))

from rlvr.tasks.sql import SUITE_SIZE, generate  # noqa: E402
from verifiers import get_verifier  # noqa: E402


def rate(verifier, items: list[tuple], reps: int = 5) -> float:
    for item in items:  # warm the per-(database, gold) cache, as a training run does after its first step
        verifier.judge(*item)
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(reps):
            for item in items:
                verifier.judge(*item)
        best = max(best, reps * len(items) / (time.perf_counter() - start))
    return best


def main() -> None:
    rows = generate("train") + generate("test")
    v = get_verifier("sql", workers=1)
    print(f"| answers | db_path only | db_path + {SUITE_SIZE}-variant suite |\n| --- | ---: | ---: |")
    for label, pred in (
        ("right (the gold query)", lambda r: r["answer"]),
        ("wrong (`SELECT 2`)", lambda r: "SELECT 2"),
    ):
        out = []
        for with_suite in (False, True):
            meta = lambda r: {"db_path": r["db_path"], **({"db_suite": r["db_suite"]} if with_suite else {})}  # noqa: E731, B023
            out.append(rate(v, [(f"```sql\n{pred(r)}\n```", r["answer"], meta(r)) for r in rows]))
        print(f"| {label} | {out[0]:,.0f}/s | {out[1]:,.0f}/s |")


if __name__ == "__main__":
    main()
