"""bench/gpu_smoke.py on a machine without CUDA: a clear refusal, not a table of failures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

SMOKE = Path(__file__).resolve().parents[2] / "bench" / "gpu_smoke.py"


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="a CUDA device is present: run bench/gpu_smoke.py itself"
)
def test_gpu_smoke_refuses_without_cuda():
    proc = subprocess.run([sys.executable, str(SMOKE)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "no CUDA device" in proc.stderr and "| check |" not in proc.stdout
