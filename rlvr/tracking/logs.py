"""Where a run's messages go: the console keeps rlvr's own; engines and Ray write to the run dir.

The console of `rlvr train` shows the progress bar, the phase timings, the result table and
rlvr's warnings and errors. Everything else lands in two files of the run directory:

- `RUN/train.log`: this process's log records at INFO and up: rlvr's, Ray's driver messages,
  Python warnings of libraries (transformers, torch).
- `RUN/engines.log`: stdout and stderr of every Ray worker process of the run (rollout workers'
  vLLM, learner ranks' DeepSpeed, torch and transformers, verifier actors), each process's output
  after a header line naming its pid and node. A worker on a node that does not see the run dir
  keeps its output in Ray's session logs (`/tmp/ray/session_*/logs/worker-*`), as Ray does.

`logger.verbose=true` (or `rlvr --verbose train`) puts everything back on the console: INFO
records and Ray's forwarding of worker output (`(RolloutWorker pid=...) ...` lines), for debugging.

Two halves: `configure_run_logging` (this process, at start) and `ray_init_options` (given to
`ray.init`: `log_to_driver=False` and a `worker_process_setup_hook` that sends each worker's
output to `RUN/engines.log`).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

ENGINE_LOG_ENV = "RLVR_ENGINE_LOG"  # set in Ray workers' environment (the job's runtime_env)
FILE_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"  # Hydra's, as train.log had
CONSOLE_FORMAT = "%(levelname)s %(name)s: %(message)s"
OWN_LOGGERS = ("rlvr", "verifiers", "__main__")

# The engine log of the run this process drives; None: Ray forwards worker output to the console.
_engine_log: Path | None = None


class _OwnOrError(logging.Filter):
    """Console filter: rlvr's own warnings, and errors from anyone."""

    def filter(self, record: logging.LogRecord) -> bool:
        own = record.name.split(".")[0] in OWN_LOGGERS
        return own or record.levelno >= logging.ERROR


def configure_run_logging(run_dir: str | Path, *, verbose: bool = False) -> None:
    """Send this process's logging to `RUN/train.log` (INFO and up) and the console (rlvr's
    warnings and errors; everything at INFO when verbose), and choose where Ray workers write
    (`ray_init_options`). Replaces the handlers Hydra installed (its console and train.log)."""
    global _engine_log
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.INFO)
    file = logging.FileHandler(run_dir / "train.log", encoding="utf-8")
    file.setFormatter(logging.Formatter(FILE_FORMAT))
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter(CONSOLE_FORMAT))
    if verbose:
        console.setLevel(logging.INFO)
    else:
        console.setLevel(logging.WARNING)
        console.addFilter(_OwnOrError())
    root.addHandler(file)
    root.addHandler(console)
    logging.captureWarnings(True)  # library warnings.warn(...) become records: file, not console
    if not verbose:
        _route_library_loggers()
    _engine_log = None if verbose else run_dir / "engines.log"


def _route_library_loggers() -> None:
    """Libraries that print through a handler of their own, past the root logger: through it."""
    from transformers.utils import logging as hf_logging  # the trainer imports it anyway

    hf_logging.disable_default_handler()
    hf_logging.enable_propagation()
    adopt_ray_logger()


def adopt_ray_logger() -> None:
    """Ray's driver-side logger ("Started a local Ray instance", token auth notes) prints to stderr
    through its own handler, installed when `ray` is imported: let it reach the run's handlers
    (train.log; the console only for errors). A no-op until the run's logging is configured or
    when it is verbose, and before Ray is imported (call it again after `import ray`)."""
    if _engine_log is None or "ray" not in sys.modules:
        return
    ray_logger = logging.getLogger("ray")
    for handler in list(ray_logger.handlers):
        ray_logger.removeHandler(handler)
    ray_logger.propagate = True


def ray_init_options() -> dict[str, Any]:
    """Extra `ray.init` arguments for the configured run: worker output to `RUN/engines.log`
    instead of the driver's console. Empty (Ray's defaults) when the run is verbose or logging was
    not configured (tests, library use)."""
    if _engine_log is None:
        return {}
    return {
        "log_to_driver": False,
        "runtime_env": {
            "env_vars": {ENGINE_LOG_ENV: str(_engine_log)},
            "worker_process_setup_hook": f"{__name__}.redirect_worker_output",
        },
    }


def end_ray_job() -> None:
    """After a run that sent worker output to its engines.log: disconnect from Ray (and stop the
    local cluster this process started), so that the next run of a `--multirun` sweep starts a
    Ray job of its own, whose workers write to that run's engines.log."""
    if _engine_log is None or "ray" not in sys.modules:
        return
    import ray

    if ray.is_initialized():
        ray.shutdown()


def engine_log() -> Path | None:
    """`RUN/engines.log` of the configured run (None: worker output goes to the console)."""
    return _engine_log


def redirect_worker_output() -> None:
    """Ray's worker_process_setup_hook: this worker process's stdout and stderr (file descriptors
    1 and 2, so C++ and subprocess output too) append to the run's engines.log. Does nothing
    where the run dir is not visible (another node without a shared file system): the output
    stays in Ray's session logs."""
    path = os.environ.get(ENGINE_LOG_ENV)
    if not path or not os.path.isdir(os.path.dirname(path)):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.write(fd, f"---- Ray worker process pid={os.getpid()} on {socket.gethostname()} ----\n".encode())
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
