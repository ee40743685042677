"""Shared fixtures of the verifier tests: pooled verifiers (started once per module), a small SQLite
shop, and real `rlvr verifier serve` processes on loopback."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from vf_db import make_shop
from vf_server import REPO, Server, free_port, serve_command, stop_server

from verifiers import get_verifier


@pytest.fixture(scope="module")
def shop_db(tmp_path_factory) -> Path:
    return make_shop(tmp_path_factory.mktemp("shop"))


@pytest.fixture(scope="module")
def math_verifier():
    v = get_verifier("math", workers=2, timeout=3.0)
    assert v.pool.wait_ready(60), "math workers did not start"
    yield v
    v.close()


@pytest.fixture(scope="module")
def sql_verifier():
    v = get_verifier("sql", workers=2, timeout=1.0)
    assert v.pool.wait_ready(60), "sql workers did not start"
    yield v
    v.close()


def cpu_count() -> int:
    return os.cpu_count() or 1


@pytest.fixture(scope="module")
def start_server():
    """start(*serve_args, name="math", env=None) -> Server: a real `rlvr verifier serve` process on a free
    loopback port, returned once /v1/health answers; every server is stopped after the module."""
    started: list[subprocess.Popen] = []

    def start(*args: str, name: str = "math", env: dict[str, str] | None = None) -> Server:
        port = free_port()
        proc = subprocess.Popen(
            serve_command(name, *args, port=port), env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        )
        started.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"server exited with {proc.returncode}"
            try:
                if httpx.get(url + "/v1/health", timeout=2).status_code == 200:
                    return Server(proc, url, port)
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("server did not come up in 120 s")

    yield start
    for proc in started:
        stop_server(proc)
