"""Agreement of the math verifier with the hand labels of tests/verifiers/data/math_labelled.jsonl,
with math-verify called directly as the reference line.

    .venv/bin/python bench/verifiers/bench_math_labelled.py

Prints one row per judge: agreement, false positives (accepted, label wrong), false negatives
(refused, label right), then every disagreement with its id and class. math-verify is called the way
its README shows (`verify(parse("$gold$"), parse(response))`, default extraction, its own timeouts),
in this process, once as installed (ANTLR 4.9.3 runtime, percentages crash its parser) and once with
`verifiers.math.antlr_compat` applied. The verifier rows run the pooled verifier with each `extract`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "verifiers" / "data" / "math_labelled.jsonl"


def load(path: Path = DATA) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def math_verify_direct(rows: list[dict]) -> list[bool]:
    from math_verify import parse, verify

    out = []
    for row in rows:
        try:
            out.append(bool(verify(parse(f"${row['gold']}$"), parse(row["response"]))))
        except Exception:  # math-verify's own errors count as "not accepted"
            out.append(False)
    return out


def verifier(rows: list[dict], extract: str, workers: int) -> list[bool]:
    from verifiers import get_verifier

    with get_verifier("math", workers=workers, extract=extract) as v:
        results = v.verify_batch([r["response"] for r in rows], [r["gold"] for r in rows])
    return [r.correct for r in results]


def report(name: str, rows: list[dict], accepted: list[bool], show: bool) -> None:
    fp = [r for r, a in zip(rows, accepted, strict=True) if a and not r["label"]]
    fn = [r for r, a in zip(rows, accepted, strict=True) if not a and r["label"]]
    agree = 1 - (len(fp) + len(fn)) / len(rows)
    print(f"| {name} | {100 * agree:.1f}% | {len(fp)} | {len(fn)} |")
    if show:
        for kind, bad in (("false positive", fp), ("false negative", fn)):
            for r in bad:
                note = f" - {r['note']}" if "note" in r else ""
                print(f"  {name}: {kind} {r['id']} ({r['class']}), gold {r['gold']!r}{note}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--extract", nargs="*", default=["default", "strict", "boxed,answer_is,last_number"])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quiet", action="store_true", help="no per-row disagreements (they go to stderr)")
    ap.add_argument(
        "--no-direct",
        action="store_true",
        help="skip math-verify called directly (e.g. to judge an older checkout put first on PYTHONPATH)",
    )
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # math-verify logs every parse failure
    rows = load()
    right = sum(r["label"] for r in rows)
    print(f"{len(rows)} labelled pairs ({right} right, {len(rows) - right} wrong)\n")
    print("| judge | agreement | false positives | false negatives |\n| --- | ---: | ---: | ---: |")
    if not args.no_direct:
        assert "verifiers.math.antlr_compat" not in sys.modules
        report("math-verify called directly (as installed)", rows, math_verify_direct(rows), not args.quiet)
        import verifiers.math.antlr_compat  # noqa: F401  (from here on, percentages parse)

        direct = math_verify_direct(rows)
        report("math-verify called directly (+ antlr_compat)", rows, direct, not args.quiet)
        held = [i for i, r in enumerate(rows) if r["split"] == "holdout"]
        report(
            f"  the same, holdout split only ({len(held)} pairs)",
            [rows[i] for i in held],
            [direct[i] for i in held],
            False,
        )
    for extract in args.extract:
        accepted = verifier(rows, extract, args.workers)
        report(f"verifier, extract={extract}", rows, accepted, not args.quiet)
        if extract == "default":
            held = [i for i, r in enumerate(rows) if r["split"] == "holdout"]
            report(
                f"  the same, holdout split only ({len(held)} pairs)",
                [rows[i] for i in held],
                [accepted[i] for i in held],
                False,
            )


if __name__ == "__main__":
    main()
