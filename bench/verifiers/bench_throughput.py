"""Verifications per second: in-process (no pool), worker pool, HTTP service, Ray actors; math and SQL.

    .venv/bin/python bench/verifiers/bench_throughput.py --n 400

Short by default; numbers go to BENCHMARKS.md (never asserted by tests).
"""

# ruff: noqa: B023  (each lambda is called at once, inside the iteration that made it)
from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from verifiers import get_verifier
from verifiers.service.http_client import HttpVerifier

REPO = Path(__file__).resolve().parents[2]


def math_rows(n: int):
    """A mix: boxed fractions (correct), "the answer is" (2/3 wrong), radicals (correct), no answer."""
    rows = []
    for i in range(n):
        rows.append(
            [
                (r"so \boxed{\frac{%d}{2}}" % (2 * i), str(i)),  # noqa: UP031
                (f"The answer is {i}.", str(i + i % 3)),
                (r"\boxed{\sqrt{%d}}" % i, r"\sqrt{%d}" % i),  # noqa: UP031
                (f"no answer {i}", str(i)),
            ][i % 4]
        )
    return [r for r, _ in rows], [g for _, g in rows], [{} for _ in rows]


def sql_rows(n: int, db: str):
    gold = [
        "SELECT name FROM customers WHERE city = 'paris'",
        "SELECT COUNT(*) FROM orders",
        "SELECT title FROM products ORDER BY price",
    ]
    preds = [
        "SELECT name FROM customers WHERE city = 'paris'",
        "SELECT COUNT(id) FROM orders",
        "SELECT title FROM products ORDER BY price DESC",
        "SELECT nme FROM customers",
    ]
    rows = [(f"```sql\n{preds[i % 4]}\n```", gold[i % 3]) for i in range(n)]
    return [r for r, _ in rows], [g for _, g in rows], [{"db_path": db} for _ in rows]


def make_db(folder: str) -> str:
    path = os.path.join(folder, "shop.db")
    conn = sqlite3.connect(path)
    conn.executescript("""
    CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, city TEXT);
    CREATE TABLE products(id INTEGER PRIMARY KEY, title TEXT, price REAL);
    CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER, product_id INTEGER, qty INTEGER);
    """)
    conn.executemany(
        "INSERT INTO customers VALUES (?,?,?)",
        [(i, f"c{i}", ["paris", "rome", "oslo"][i % 3]) for i in range(300)],
    )
    conn.executemany("INSERT INTO products VALUES (?,?,?)", [(i, f"p{i}", i * 0.25) for i in range(50)])
    conn.executemany(
        "INSERT INTO orders VALUES (?,?,?,?)", [(i, i % 300, i % 50, i % 7) for i in range(3000)]
    )
    conn.commit()
    conn.close()
    return path


def rate(fn, n: int) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-ray", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    db = make_db(tmp)
    data = {"math": math_rows(args.n), "sql": sql_rows(args.n, db)}
    results: dict[tuple[str, str], float] = {}
    for name, (resp, refs, meta) in data.items():
        v = get_verifier(name, workers=args.workers)
        # in-process: the same judge, no pool (no isolation, no timeout) - the ceiling the pool is measured against
        v.judge(resp[0], refs[0], meta[0])  # warm imports
        results[(name, "in-process (no pool)")] = rate(
            lambda: [v.judge(r, g, m) for r, g, m in zip(resp, refs, meta, strict=True)], args.n
        )
        v.pool.wait_ready(120)
        v.verify_batch(resp[:8], refs[:8], meta[:8])
        results[(name, f"worker pool ({args.workers} workers)")] = rate(
            lambda: v.verify_batch(resp, refs, meta), args.n
        )
        v.close()

        port = free_port()
        code = "import sys, rlvr.cli as c; c.SUBCOMMAND_MODULES[:] = ['rlvr.cli.verify']; sys.exit(c.main(sys.argv[1:]))"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                code,
                "verifier",
                "serve",
                name,
                "--port",
                str(port),
                "--option",
                f"workers={args.workers}",
            ],
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(url + "/v1/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            with HttpVerifier(url, batch_size=64) as client:
                client.verify_batch(resp[:8], refs[:8], meta[:8])
                results[(name, "HTTP, batches of 64")] = rate(
                    lambda: client.verify_batch(resp, refs, meta), args.n
                )
                results[(name, "HTTP, 1 item per request")] = rate(
                    lambda: [
                        client.verify(r, g, **m)
                        for r, g, m in zip(resp[:100], refs[:100], meta[:100], strict=True)
                    ],
                    100,
                )
        finally:
            proc.terminate()
            proc.wait(20)

        if not args.skip_ray:
            import ray

            from verifiers.service.ray_pool import RayVerifierPool

            if not ray.is_initialized():
                ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
            with RayVerifierPool(name, num_actors=2, actor_options={"num_cpus": 0.5}) as rp:
                rp.verify_batch(resp[:8], refs[:8], meta[:8])
                results[(name, "Ray, 2 actors x 1 worker")] = rate(
                    lambda: rp.verify_batch(resp, refs, meta), args.n
                )
    print(f"\n| verifier | path | verifications/s (n={args.n}) |\n| --- | --- | ---: |")
    for (name, path), r in results.items():
        print(f"| {name} | {path} | {r:,.0f} |")
    if not args.skip_ray:
        import ray

        ray.shutdown()


if __name__ == "__main__":
    main()
