"""A real single-node Slurm cluster on this machine from Debian's packages (slurm-wlm, munge).

munged, slurmctld and slurmd run with private ports, a private munge socket, and state, spool,
log and pid files under one temp dir; `stop()` signals them by their own pid files. The settings
are the ones measured to work in an unprivileged-cgroup container: process tracking by
/proc (no cgroups), no task plugin, no accounting (so `sacct` is unavailable; `rlvr jobs`
falls back to scontrol).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slurm_available() -> str | None:
    """None when the daemons can run here, else why not (for a skip message)."""
    missing = [t for t in ("munged", "slurmctld", "slurmd", "sbatch") if shutil.which(t) is None]
    if missing:
        return f"{', '.join(missing)} not installed (`make system-deps` installs slurm-wlm and munge)"
    if os.geteuid() != 0:
        return "the test Slurm cluster runs its daemons as root"
    if not Path("/etc/munge/munge.key").exists():
        return "no /etc/munge/munge.key (the munge package creates it)"
    return None


@dataclass
class SlurmCluster:
    root: Path
    conf: Path
    node: str
    name: str

    @property
    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def stop(self) -> None:
        """Cancel every job, stop the daemons by pid file, then end step daemons left behind."""
        env = {**os.environ, **self.env}
        subprocess.run(["scancel", "--full", "--user=root"], env=env, capture_output=True, timeout=30)
        deadline = time.time() + 90  # KillWait is 60 s
        while time.time() < deadline:
            q = subprocess.run(["squeue", "-h"], env=env, capture_output=True, text=True, timeout=30)
            if q.returncode != 0 or not q.stdout.strip():
                break
            time.sleep(2)
        for name in ("slurmd", "slurmctld", "munged"):
            pid_file = self.root / f"{name}.pid"
            if not pid_file.exists():
                continue
            try:
                proc = psutil.Process(int(pid_file.read_text().split()[0]))
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=20)
            except (psutil.NoSuchProcess, ValueError):
                pass
            except psutil.TimeoutExpired:
                proc.kill()
        for proc in psutil.process_iter(["name"]):  # slurmstepd outlives slurmd; ours carry our SLURM_CONF
            try:
                if proc.info["name"] == "slurmstepd" and proc.environ().get("SLURM_CONF") == str(self.conf):
                    proc.kill()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        for tmp in Path("/tmp").glob(f"rlvr-ray-{self.name}-*"):  # the jobs' Ray temp dirs
            shutil.rmtree(tmp, ignore_errors=True)


CONF = """\
ClusterName={name}
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge.socket
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
KillWait=60
MinJobAge=3600
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem_mb} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def start_slurm(root: Path) -> SlurmCluster:
    """Start munged, slurmctld and slurmd under `root`; wait until the node is idle."""
    root.mkdir(parents=True, exist_ok=True)
    for d in ("state", "spool"):
        (root / d).mkdir(exist_ok=True)
    node = socket.gethostname().split(".")[0]
    conf = root / "slurm.conf"
    # Unique per fixture: jobs name their Ray temp dir after cluster and job id, and job ids
    # restart at 1 in every test cluster (two sessions may run at once).
    name = f"rlvrtest{secrets.token_hex(3)}"
    conf.write_text(
        CONF.format(
            name=name,
            node=node,
            root=root,
            ctld_port=free_port(),
            slurmd_port=free_port(),
            cpus=os.cpu_count(),
            # Slurm refuses a node reporting less memory than configured: claim half of it.
            mem_mb=psutil.virtual_memory().total // 2**20 // 2,
        )
    )
    cluster = SlurmCluster(root, conf, node, name)
    env = {**os.environ, "SLURM_CONF": str(conf)}
    try:
        # munged insists on owning its socket dir and on running as the key's owner.
        shutil.chown(root, "munge", "munge")
        root.chmod(0o755)
        _run(
            [
                "runuser",
                "-u",
                "munge",
                "--",
                "munged",
                f"--socket={root}/munge.socket",
                f"--pid-file={root}/munged.pid",
                f"--log-file={root}/munged.log",
                f"--seed-file={root}/munged.seed",
            ],
            env,
        )
        _run(["slurmctld", "-f", str(conf)], env)
        _run(["slurmd", "-f", str(conf), "-N", node], env)
        _wait_idle(cluster, env)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _run(cmd: list[str], env: dict) -> None:
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr[-2000:]}")


def _wait_idle(cluster: SlurmCluster, env: dict, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    state = ""
    while time.time() < deadline:
        p = subprocess.run(
            ["sinfo", "-h", "-N", "-o", "%T"], env=env, capture_output=True, text=True, timeout=30
        )
        state = p.stdout.strip() or p.stderr.strip()
        if state == "idle":
            return
        time.sleep(1)
    logs = "".join(
        f"\n--- {n}:\n" + (cluster.root / n).read_text()[-1500:]
        for n in ("slurmctld.log", "slurmd.log")
        if (cluster.root / n).exists()
    )
    raise TimeoutError(f"the Slurm node is {state!r}, not idle, after {timeout:.0f}s{logs}")
