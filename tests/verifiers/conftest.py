"""Shared fixtures of the verifier tests: pooled verifiers (started once per module) and a small SQLite shop."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from vf_db import make_shop

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
