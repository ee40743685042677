"""Helpers to run `rlvr verifier serve` in a subprocess (the `start_server` fixture in conftest uses them)."""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Only the verify subcommand module: a server test must not depend on other subcommands importing.
SERVE_CODE = (
    "import sys, rlvr.cli as c; c.SUBCOMMAND_MODULES[:] = ['rlvr.cli.verify']; sys.exit(c.main(sys.argv[1:]))"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    port: int


def serve_command(name: str, *args: str, port: int) -> list[str]:
    """argv of `rlvr verifier serve NAME` on loopback (through rlvr.cli, as a user would run it)."""
    return [
        sys.executable,
        "-c",
        SERVE_CODE,
        "verifier",
        "serve",
        name,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *args,
    ]


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
