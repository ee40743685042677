"""The side-by-side benchmark's pieces that need no heavy compute (bench/side_by_side): step medians,
ratios against targets, the table, the identical-work config, and that `make bench` exists.
Nothing here is timed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # bench/ is not an installed package

from bench.side_by_side.hardware import learner_flops  # noqa: E402
from bench.side_by_side.rows import Measured, build_rows  # noqa: E402
from bench.side_by_side.table import (  # noqa: E402
    Row,
    Target,
    median_of_steps,
    ratio,
    read_metrics,
    render,
    step_values,
)
from bench.side_by_side.work import QUICK, Work, rlvr_overrides, step_prompts, trl_rows  # noqa: E402


def test_median_of_steps_leaves_out_the_warm_up_steps():
    values = {1: 50.0, 2: 9.0, 3: 1.0, 4: 3.0, 5: 2.0}
    assert median_of_steps(values, 3) == 2.0
    assert median_of_steps(values, 3, 4) == 2.0  # median of 1 and 3
    assert median_of_steps(values, 1) == 3.0
    with pytest.raises(ValueError, match=r"steps 6\.\.5"):
        median_of_steps(values, 6)


def test_step_values_reads_one_key_across_the_rows_of_a_metrics_file(tmp_path):
    f = tmp_path / "metrics.jsonl"
    f.write_text(
        '{"step": 0, "bank/pef_prompts": 47}\n'
        '{"step": 1, "time/step": 2.5, "time/sync": 0.03}\n'
        '{"step": 1, "eval/pass@1": 0.2}\n'
        '{"step": 2, "time/step": 1.5}\n'
    )
    rows = read_metrics(f)
    assert step_values(rows, "time/step") == {1: 2.5, 2: 1.5}
    assert step_values(rows, "time/sync") == {1: 0.03}
    f.write_text('{"step": 1}\nnot json\n')
    with pytest.raises(ValueError, match=r"metrics\.jsonl:2: not JSON"):
        read_metrics(f)


def test_targets_and_ratios():
    assert ratio(2.0, 4.0) == 0.5
    assert ratio(1.0, 0.0) is None and ratio(None, 1.0) is None
    assert Target("<=", 0.5).met(0.5) is True
    assert Target("<=", 0.5).met(0.51) is False
    assert Target(">=", 0.9).met(0.95) is True
    assert Target(">=", 0.9).met(None) is None
    assert str(Target("<=", 1.05)) == "<= 1.05"


def test_render_escapes_pipes_and_marks_a_missed_target():
    row = Row("GRPO step", "2.00 s", "TRL 1.67 s", 1.2, "1.20x", Target("<=", 0.5), (3.2, 4.0), "a | b")
    table = render([row])
    lines = table.splitlines()
    assert lines[0].startswith("| measurement | rlvr | reference | ratio | target | met | load avg (1 min")
    assert lines[2] == "| GRPO step | 2.00 s | TRL 1.67 s | 1.20x | <= 0.5 | **no** | 3.2-4.0 | `a \\| b` |"
    assert row.as_dict()["met"] is False and row.as_dict()["target"] == "<= 0.5"


def _rlvr(step, generate, sync, tokens_per_s, load=(0.5, 0.7), startup=17.0):
    steps = range(1, len(step) + 1)
    return Measured(
        {
            "time/step": dict(zip(steps, step, strict=True)),
            "time/generate": dict(zip(steps, generate, strict=True)),
            "time/sync": dict(zip(steps, sync, strict=True)),
            "throughput/generated_tokens_per_s": dict(zip(steps, tokens_per_s, strict=True)),
        },
        load,
        "rlvr train",
        wall_seconds=50.0,
        extra={"startup_seconds": startup},
    )


def test_build_rows_computes_the_issues_ratios_from_fixed_inputs():
    work = Work(steps=5)
    m = {
        "rlvr_grpo": _rlvr(
            [9, 9, 2.0, 2.2, 1.8], [5, 5, 0.7, 0.69, 0.68], [1, 1, 0.03, 0.02, 0.04], [1, 1, 10, 12, 11]
        ),
        "rlvr_dph": _rlvr([9, 9, 3.0, 2.9, 2.8], [1] * 5, [1] * 5, [1] * 5),
        "rlvr_grpo_engines": _rlvr([9, 9, 0.8, 0.75, 0.7], [1, 1, 0.4, 0.5, 0.3], [1] * 5, [1] * 5),
        "rlvr_grpo_warm": _rlvr([9, 9, 2.1, 2.0, 1.9], [1] * 5, [1] * 5, [1] * 5, startup=7.5),
        "trl": Measured(
            {"step_seconds": [30, 9, 1.6, 1.7, 1.5], "startup_seconds": 3.0}, (1.5, 2.5), "trl", 25.0
        ),
        "vllm": Measured(
            {"step_seconds": [1, 1, 1, 2, 1], "step_tokens": [9, 9, 20, 20, 20]}, (0, 0), "v", 9
        ),
        "hardware": Measured(
            {"matmul_gflops": 200.0, "memcpy": {"/m": {"bytes": 4, "seconds": 0.01}}},
            (0, 0),
            "hw",
            1,
            {"tiny": "/m"},
        ),
        "weight_sync": Measured(
            {
                **{"bytes": 5e8, "memcpy_seconds": 0.05, "stored": 0.9, "worker": 0.8, "via_driver": 3.0},
                **{"stored_plain": 0.12, "worker_plain": 0.06, "generate": 10.0, "generate_plain": 10.8},
                **{"shared": 0.06, "worker_shared": 0.001, "generate_shared": 10.9},
            },
            (0, 0),
            "ws",
            1,
        ),
    }
    rows = {r.measurement.split(" (")[0].split(":")[0]: r for r in build_rows(m, work, [])}
    grpo = rows["GRPO step"]
    assert grpo.value == pytest.approx(2.0 / 1.6) and grpo.met is False
    assert grpo.load == (0.5, 2.5)  # the lowest and highest load sampled around the two jobs
    assert rows["whole 5-step job"].value == pytest.approx(2.0)
    assert rows["start-up"].value == 17.0 and rows["start-up"].met is False
    warm = rows["start-up on a running cluster with warm actors"]  # its own launch-to-step-1
    assert warm.value == 7.5 and warm.met and "cold, as above: 17" in warm.reference and "2.00 s" in warm.rlvr
    assert rows["generation"].value == pytest.approx(11 / 20)  # tokens/s: medians of steps 3-5
    assert rows["DPH-RL JS step / GRPO step"].value == pytest.approx(2.9 / 2.0)
    engines = rows["GRPO step, one vLLM engine per core"]  # against TRL's step, like the headline
    assert engines.value == pytest.approx(0.75 / 1.6) and engines.met and "0.40 s" in engines.rlvr
    assert rows["GRPO + reverse KL step / GRPO step"].value is None  # not measured: n/a, not an error
    assert (
        rows["weight sync per step, tiny-arith-v2"].value == pytest.approx(3.0)
        and rows["weight sync per step, tiny-arith-v2"].met
    )
    assert "learner fwd+bwd, 27.3M params" not in " ".join(rows)  # no learner piece, no row
    smol = rows["weight sync, SmolLM2-135M"]  # what rlvr train sends, against the memcpy
    assert smol.value == pytest.approx(18.0) and smol.met is False and "3.00 s" in smol.rlvr
    plain = rows["same, `rollout.engine_options.cpu_linear=plain`"]  # the layout that copies updates in place
    assert plain.value == pytest.approx(2.4) and plain.met and "generation 1.08x the packed" in plain.rlvr
    shared = rows["same, plain and `rollout.engine_options.weight_sync=shared_memory`"]
    assert shared.value == pytest.approx(1.2) and shared.met and "generation 1.09x the packed" in shared.rlvr


def test_learner_flops_counts_the_dense_matmuls():
    # 1 layer, h=2, I=8, vocab 10, 1 row of 3 tokens (1 prompt): per token 4*4 + 3*2*8 + 2*3*2 = 76 MACs.
    flops = learner_flops(vocab=10, hidden=2, layers=1, batch=1, seq=3, prompt=1, intermediate=8)
    assert flops == 3 * (2 * 3 * 76 + 2 * 2 * 2 * 10)


def test_identical_work_config_matches_the_issue():
    from rlvr.config.load import compose_config

    cfg = compose_config(rlvr_overrides(QUICK, "grpo"))
    assert cfg.model.name == "tiny-arith-v2" and cfg.model.dtype == "float32" == cfg.learner.dtype
    assert (cfg.prompts_per_step, cfg.rollout.sampling.n, cfg.rollout.sampling.max_tokens) == (32, 8, 64)
    assert cfg.rollout.sampling.temperature == 1.0 and cfg.learner.lr == 2e-4
    # one optimizer step per 256 completions: one mini-batch, one epoch, micro-batches accumulated
    assert (cfg.learner.mini_batches_per_step, cfg.learner.ppo_epochs) == (1, 1)
    assert QUICK.completions_per_step == 256 and 256 % cfg.learner.micro_batch_size == 0
    assert cfg.eval.n == 0 and cfg.algorithm.divergence_coef == 0.0


def test_both_sides_get_the_same_prompt_token_ids_in_the_same_order():
    from rlvr.data import load_split
    from rlvr.data.cycle import SeededCycle
    from rlvr.trainer import components

    work = Work(steps=3)
    steps, path, cfg = step_prompts(work)
    tokenizer = components.load_tokenizer(path)
    prompts, ids = load_split(cfg.data, cfg.model, tokenizer)
    # the trainer's draw for GRPO: a SeededCycle over every training prompt, seed "prompts/<seed>"
    cycle = SeededCycle(len(prompts), seed=f"prompts/{cfg.seed}")
    for step in steps:
        picked = cycle.take(32)
        assert [p.id for p, _ in step] == [prompts[i].id for i in picked]
        assert [x for _, x in step] == [ids[i] for i in picked]
    rows = trl_rows(steps)
    flat = [p for s in steps for p, _ in s]
    assert [r["prompt"] for r in rows] == [[{"role": "user", "content": p.text}] for p in flat]
    assert [r["answer"] for r in rows] == [p.answer for p in flat]

    # Importing trl sets VLLM_LOGGING_LEVEL=ERROR in os.environ (trl/_compat.py): every later
    # test's vLLM, in Ray workers and subprocesses, would then log nothing below ERROR.
    vllm_level = os.environ.get("VLLM_LOGGING_LEVEL")
    try:
        pytest.importorskip("trl")
        from bench.side_by_side.work import trl_prompt_ids

        assert trl_prompt_ids(tokenizer, rows) == [x for s in steps for _, x in s]
    finally:
        if vllm_level is None:
            os.environ.pop("VLLM_LOGGING_LEVEL", None)
        else:
            os.environ["VLLM_LOGGING_LEVEL"] = vllm_level


def test_make_bench_is_defined():
    out = subprocess.run(["make", "-n", "bench"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert ".venv/bin/python -m bench.side_by_side" in out.stdout


def test_report_files_say_when_the_machine_was_busy_and_what_is_missing(tmp_path):
    import json
    from types import SimpleNamespace

    from bench.side_by_side.__main__ import _write

    m = {"rlvr_grpo": _rlvr([3, 3, 2.0, 2.0], [1] * 4, [0.1] * 4, [10] * 4, load=(2.5, 3.0))}
    _write(tmp_path, m, Work(steps=4), [], SimpleNamespace(quick=True), ["trl", "vllm"])
    md = (tmp_path / "latest.md").read_text()
    assert "**Provisional**: the load average reached 3.0" in md
    assert "partial: not measured yet: trl, vllm" in md
    assert "`$WORK` = `seed=0 steps=4 prompts_per_step=32" in md
    doc = json.loads((tmp_path / "latest.json").read_text())
    assert doc["rows"][0]["measurement"].startswith("GRPO step") and doc["rows"][0]["value"] is None
    assert doc["pieces"]["rlvr_grpo"]["wall_seconds"] == 50.0
