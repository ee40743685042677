"""Command-line front ends of the verifiers (used by `rlvr verify`, `rlvr verifier ...` and `python -m verifiers`).

Only argparse at import time: `rlvr` imports this on every invocation.

Input rows of `verify` (JSON Lines, one object per line):
    {"response": "... \\boxed{2}", "reference": "2", "metadata": {"db_path": "shop.db"}}
`metadata` is optional. Output rows (same order, one per input line, blank lines skipped):
    {"line": 3, "score": 1.0, "correct": true, "reason": "ok", "detail": "..."}
    {"line": 4, "error": "invalid JSON: ..."}            # a bad row; the others are still verified
Exit status: 0 when every row was verified, 1 when some rows were bad, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import Any


def parse_option_pairs(pairs: list[str] | None) -> dict[str, str]:
    """["k=v", ...] -> {"k": "v"}; values stay strings (the verifier's options coerce them)."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"--option expects KEY=VALUE, got {pair!r}")
        out[key.strip()] = value
    return out


def add_verify_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--verifier", required=True, help="registered verifier name (math, sql, or a plugin's)")
    p.add_argument("--input", required=True, help="JSONL rows: {response, reference, metadata?}")
    p.add_argument("--output", help="write one JSON result per input row here")
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="verifier option (repeatable)")
    p.add_argument("--batch-size", type=int, default=256, help="rows verified per batch")


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="registered verifier name")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="verifier option (repeatable)")
    p.add_argument("--max-concurrency", type=int, default=8, help="batches judged at once")
    p.add_argument("--request-timeout", type=float, default=120.0, help="seconds per request")
    p.add_argument("--max-items", type=int, default=4096, help="most items per request (413 beyond)")
    p.add_argument(
        "--max-body-mb",
        type=float,
        default=32.0,
        help="largest request body in MiB (413 beyond, before parsing)",
    )
    p.add_argument(
        "--token",
        action="append",
        metavar="TOKEN",
        help="accepted bearer token (repeatable; one per client gives each its fair share). Command "
        "lines are visible to other users: prefer the RLVR_VERIFIER_TOKEN environment variable "
        "(comma-separated). Required when --host is not a loopback address",
    )
    p.add_argument(
        "--max-concurrency-per-client",
        type=int,
        default=None,
        help="batches one client may have in progress (default half of --max-concurrency)",
    )
    p.add_argument(
        "--header-timeout", type=float, default=10.0, help="seconds to receive a request's headers"
    )
    p.add_argument(
        "--body-timeout", type=float, default=30.0, help="seconds to receive a request's body (408)"
    )
    p.add_argument(
        "--degraded-after",
        type=float,
        default=30.0,
        help="/v1/health says degraded when queued work is older than this (seconds)",
    )


def _parse_row(line: str) -> tuple[dict[str, Any] | None, str]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc}"
    if not isinstance(row, dict):
        return None, f"expected a JSON object, got {type(row).__name__}"
    missing = [k for k in ("response", "reference") if k not in row]
    if missing:
        return None, f"missing field(s): {', '.join(missing)}"
    if not isinstance(row["response"], str) or not isinstance(row["reference"], str):
        return None, "response and reference must be strings"
    meta = row.get("metadata", {})
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        return None, f"metadata must be an object, got {type(meta).__name__}"
    return {"response": row["response"], "reference": row["reference"], "metadata": meta}, ""


def run_verify(args: argparse.Namespace) -> int:
    from verifiers.registry import get_verifier

    try:
        verifier = get_verifier(args.verifier, **parse_option_pairs(args.option))
    except (KeyError, TypeError, ValueError, ImportError) as exc:
        print(f"rlvr verify: {exc}", file=sys.stderr)
        return 2
    outputs: dict[int, dict[str, Any]] = {}
    good: list[tuple[int, dict[str, Any]]] = []
    # errors="replace": a row with invalid UTF-8 is still a row (its text gets U+FFFD), not a crash.
    with open(args.input, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            row, error = _parse_row(line)
            if row is None:
                outputs[number] = {"line": number, "error": error}
                print(f"{args.input}:{number}: {error}", file=sys.stderr)
            else:
                good.append((number, row))
    try:
        for i in range(0, len(good), max(1, args.batch_size)):
            chunk = good[i : i + args.batch_size]
            results = verifier.verify_batch(
                [r["response"] for _, r in chunk],
                [r["reference"] for _, r in chunk],
                [r["metadata"] for _, r in chunk],
            )
            for (number, _), res in zip(chunk, results, strict=True):
                outputs[number] = {"line": number, **res.to_dict()}
    finally:
        verifier.close()
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            for number in sorted(outputs):
                f.write(json.dumps(outputs[number], ensure_ascii=False) + "\n")
    _print_summary(list(outputs.values()))
    return 1 if any("error" in o for o in outputs.values()) else 0


def _print_summary(rows: list[dict[str, Any]]) -> None:
    verified = [r for r in rows if "error" not in r]
    bad = len(rows) - len(verified)
    reasons = Counter(r["reason"] for r in verified)
    mean = sum(r["score"] for r in verified) / len(verified) if verified else 0.0
    print(f"{len(verified)} rows verified, {bad} bad rows, mean score {mean:.4f}")
    for reason, count in reasons.most_common():
        print(f"  {reason:<14} {count}")


def run_serve(args: argparse.Namespace) -> int:
    from verifiers.service.http_app import serve

    try:
        serve(
            args.name,
            host=args.host,
            port=args.port,
            options=parse_option_pairs(args.option),
            max_concurrency=args.max_concurrency,
            request_timeout=args.request_timeout,
            max_items=args.max_items,
            max_body_bytes=int(args.max_body_mb * (1 << 20)),
            tokens=args.token,
            max_concurrency_per_client=args.max_concurrency_per_client,
            header_timeout=args.header_timeout,
            body_timeout=args.body_timeout,
            degraded_after=args.degraded_after,
        )
    except (KeyError, TypeError, ValueError, ImportError) as exc:
        print(f"rlvr verifier serve: {exc}", file=sys.stderr)
        return 2
    return 0


def run_list(args: argparse.Namespace) -> int:
    from verifiers.registry import available_verifiers

    for name in available_verifiers():
        print(name)
    return 0
