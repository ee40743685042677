"""The math verifier service under auth and under attack: throughput with and without a bearer token,
and the latency of ordinary single requests while a hostile client is active.

    .venv/bin/python bench/verifiers/bench_service.py --n 400 --probes 60

The hostile client (tests/verifiers/vf_hostile.py, from another address) loops: 4 power towers
abandoned after 2 s, a wrong token, a body that is not UTF-8, a 50 MB body announced and never sent,
5 slow-loris connections. Numbers go to BENCHMARKS.md (never asserted by tests).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "verifiers"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_throughput import math_rows  # noqa: E402
from vf_hostile import HostileClient  # noqa: E402
from vf_server import free_port, serve_command  # noqa: E402

from verifiers.service.http_client import HttpVerifier  # noqa: E402

TOKEN, HOSTILE_TOKEN = "bench-token", "hostile-token"


def start(workers: int, token: bool) -> tuple[subprocess.Popen, str, int]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("RLVR_VERIFIER_TOKEN", None)
    if token:
        env["RLVR_VERIFIER_TOKEN"] = f"{TOKEN},{HOSTILE_TOKEN}"
    proc = subprocess.Popen(
        serve_command(
            "math",
            "--option",
            f"workers={workers}",
            "--option",
            "timeout=5",
            "--request-timeout",
            "120",
            port=port,
        ),
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(url + "/v1/health", timeout=1).status_code == 200:
                return proc, url, port
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def throughput(url: str, token: str | None, n: int) -> tuple[float, float]:
    resp, refs, meta = math_rows(n)
    with HttpVerifier(url, batch_size=64, token=token or "") as client:
        client.verify_batch(resp[:8], refs[:8], meta[:8])
        t = time.perf_counter()
        client.verify_batch(resp, refs, meta)
        batched = n / (time.perf_counter() - t)
        t = time.perf_counter()
        for r, g in zip(resp[:100], refs[:100], strict=True):
            client.verify(r, g)
        single = 100 / (time.perf_counter() - t)
    return batched, single


def latencies(url: str, probes: int) -> list[float]:
    out = []
    with HttpVerifier(url, token=TOKEN, retries=0) as client:
        for i in range(probes):
            t = time.perf_counter()
            assert client.verify(r"so \boxed{\frac{%d}{2}}" % (2 * i), str(i)).correct  # noqa: UP031
            out.append(time.perf_counter() - t)
            time.sleep(0.25)  # probes spread over the hostile client's cycle (about 2-3 s)
    return out


def summary(xs: list[float]) -> str:
    xs = sorted(xs)
    return (
        f"p50 {statistics.median(xs) * 1000:.0f} ms, p95 {xs[int(0.95 * (len(xs) - 1))] * 1000:.0f} ms, "
        f"max {xs[-1] * 1000:.0f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=400, help="items for the throughput rows")
    ap.add_argument("--probes", type=int, default=60, help="ordinary single requests per latency row")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    rows = []
    for token in (False, True):
        proc, url, port = start(args.workers, token)
        try:
            batched, single = throughput(url, TOKEN if token else None, args.n)
            label = "token on" if token else "no token"
            rows.append((f"HTTP {label}, batches of 64", f"{batched:,.0f} verifications/s"))
            rows.append((f"HTTP {label}, 1 item per request", f"{single:,.0f} verifications/s"))
            if token:
                rows.append(("single request latency, server idle", summary(latencies(url, args.probes))))
                hostile = HostileClient(url, port, HOSTILE_TOKEN).start()
                time.sleep(3)  # let it get going
                try:
                    busy = latencies(url, args.probes)
                finally:
                    statuses = hostile.stop()
                rows.append(("single request latency, hostile client active", summary(busy)))
                print(f"hostile client: {dict(statuses)}")
        finally:
            proc.terminate()
            proc.wait(20)
    print(f"\n| math service ({args.workers} workers) | result |\n| --- | --- |")
    for what, value in rows:
        print(f"| {what} | {value} |")


if __name__ == "__main__":
    main()
