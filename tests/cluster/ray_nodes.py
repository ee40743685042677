"""A real multi-node Ray cluster on this machine: one `ray start --head` and N `ray start` workers,
each with its own ports, token authentication on, and torn down by the pids this module started.

Shared machines run other people's Ray clusters: every port here is chosen free, the temp dir is
private, and teardown signals only the process groups started here (never Ray's machine-wide stop).
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

RAY = str(Path(sys.executable).with_name("ray"))


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A free port never handed out before in this process: released ports can come back from the
    kernel, and two Ray components given the same port refuse to start."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


@dataclass
class RayNodes:
    """Handles of a running cluster; `env` is what a client needs (token, auth mode)."""

    gcs_address: str
    dashboard_url: str
    token: str
    temp_dir: Path
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token}

    def stop(self) -> None:
        """SIGTERM each node's process group and every descendant, then SIGKILL what is left."""
        victims: list[psutil.Process] = []
        for p in self.procs:
            try:
                parent = psutil.Process(p.pid)
                victims += [parent, *parent.children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        for p in reversed(self.procs):  # workers first, the head last
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        _, alive = psutil.wait_procs(victims, timeout=15)
        for v in alive:
            try:
                v.kill()
            except psutil.NoSuchProcess:
                pass
        for p in self.procs:
            p.wait(timeout=10)


def _node_ports() -> list[str]:
    # Below the kernel's ephemeral range (32768+), where free_port() picks the other ports.
    low = random.randrange(10000, 32000, 200)
    return [
        f"--node-manager-port={free_port()}",
        f"--object-manager-port={free_port()}",
        f"--min-worker-port={low}",
        f"--max-worker-port={low + 99}",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--dashboard-agent-grpc-port={free_port()}",
        f"--runtime-env-agent-port={free_port()}",
        f"--metrics-export-port={free_port()}",
    ]


def start_ray_nodes(
    temp_dir: Path, *, workers: int = 1, num_cpus: int = 4, env: dict[str, str] | None = None
) -> RayNodes:
    """Start a head (with the Jobs API dashboard) and `workers` worker nodes; wait until all joined.

    Node k carries the custom resource `node_k` so tests can tell the nodes apart.
    """
    token = secrets.token_hex(16)
    base_env = {**os.environ, **(env or {}), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}
    # A loaded shared machine registers a raylet slower than Ray's default 30 s allow.
    base_env.setdefault("RAY_raylet_start_wait_time_s", "120")
    base_env.pop("RAY_ADDRESS", None)
    temp_dir.mkdir(parents=True, exist_ok=True)
    gcs_port, dash_port = free_port(), free_port()
    common = ["--block", "--disable-usage-stats", "--node-ip-address=127.0.0.1", f"--num-cpus={num_cpus}"]
    nodes = RayNodes(f"127.0.0.1:{gcs_port}", f"http://127.0.0.1:{dash_port}", token, temp_dir)

    def launch(args: list[str], k: int) -> None:
        log = open(temp_dir / f"node{k}.log", "a")
        nodes.procs.append(
            subprocess.Popen(
                [RAY, "start", *args, *common, *_node_ports(), f'--resources={{"node_{k}": 1}}'],
                env=base_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: teardown signals only this node
            )
        )

    try:
        launch(
            [
                "--head",
                f"--port={gcs_port}",
                f"--temp-dir={temp_dir}",
                "--include-dashboard=true",
                "--dashboard-host=127.0.0.1",
                f"--dashboard-port={dash_port}",
                f"--ray-client-server-port={free_port()}",
            ],
            0,
        )
        _wait_for(lambda: _dashboard_up(nodes), 180, "the Ray head's dashboard", temp_dir / "node0.log")
        # A worker that starts before the head's raylet registered exits ("no node info found for
        # head node"): wait for the head node itself, then start workers, restarting any that exit.
        _wait_for(lambda: _alive_nodes(nodes) >= 1, 180, "the Ray head node", temp_dir / "node0.log")
        for k in range(1, workers + 1):
            launch([f"--address={nodes.gcs_address}"], k)

        def workers_up() -> bool:
            for k in range(1, workers + 1):
                if nodes.procs[k].poll() is not None:
                    nodes.procs[k] = relaunch(k)
            return _alive_nodes(nodes) >= workers + 1

        def relaunch(k: int) -> subprocess.Popen:
            launch([f"--address={nodes.gcs_address}"], k)
            return nodes.procs.pop()

        _wait_for(workers_up, 240, "the worker nodes", temp_dir / "node1.log")
    except BaseException:
        nodes.stop()
        raise
    return nodes


def _dashboard_up(nodes: RayNodes) -> bool:
    import httpx

    try:
        r = httpx.get(f"{nodes.dashboard_url}/api/version", timeout=2)
        return r.status_code < 500
    except httpx.HTTPError:
        return False


def _alive_nodes(nodes: RayNodes) -> int:
    import httpx

    r = httpx.get(
        f"{nodes.dashboard_url}/nodes?view=summary",
        headers={"Authorization": f"Bearer {nodes.token}"},
        timeout=5,
    )
    if r.status_code != 200:
        return 0
    summary = r.json()["data"]["summary"]
    return sum(1 for n in summary if n["raylet"]["state"] == "ALIVE")


def _wait_for(cond, timeout: float, what: str, log: Path) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if cond():
                return
        except Exception:
            pass
        time.sleep(1)
    tail = log.read_text()[-3000:] if log.exists() else ""
    raise TimeoutError(f"{what} did not come up in {timeout:.0f}s; log tail:\n{tail}")
