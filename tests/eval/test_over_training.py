"""The report's runs-over-training panels, on run directories in the real formats: metrics.jsonl
written by JsonlTracker, eval/step_N.json by save_eval, .hydra/config.yaml as a mapping."""

import pytest
import yaml

from rlvr.eval.evaluate import EvalResult
from rlvr.eval.metrics import pass_at_k_curve
from rlvr.eval.over_training import collect_panels
from rlvr.eval.report import write_report
from rlvr.eval.run import save_eval
from rlvr.eval.runs import load_groups, load_metrics
from rlvr.tracking.jsonl import JsonlTracker
from rlvr.tracking.panels import PANELS

N = 8


def _result(counts):
    return EvalResult(
        n=N,
        num_problems=len(counts),
        pass_at_k=pass_at_k_curve(counts, N),
        greedy_accuracy=None,
        mean_distinct_correct=1.0,
        distinct_1=0.5,
        distinct_2=0.5,
        per_problem=[
            {"id": f"p{j}", "correct": c, "distinct_correct": min(c, 1)} for j, c in enumerate(counts)
        ],
    ).with_intervals(resamples=300)


def _run(root, name, seed, *, entropy, counts, divergence=True):
    run = root / name
    (run / ".hydra").mkdir(parents=True)
    config = {"algorithm": {"name": "dph" if divergence else "grpo"}, "seed": seed}
    (run / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    save_eval(run, 0, _result([2, 4, 0, 8] * 6))
    save_eval(run, 10, _result(counts))
    tracker = JsonlTracker(run)
    tracker.log({"bank/pef_prompts": 40 + seed, "bank/exp_prompts": 200}, 0)
    for step in range(1, 11):
        row = {"policy/entropy": entropy - 0.01 * step, "reward/mean": 0.1, "reward/accuracy": 0.1}
        if divergence:
            row["divergence/value"] = 0.002 * step
        tracker.log(row, step)
    tracker.log({"policy/entropy": float("nan")}, 11)  # written as "nan": left out, not an error
    tracker.close()
    return run


def _panels(runs, **kw):
    groups = load_groups(runs)
    return {
        p.panel.title: p for p in collect_panels(groups, dict.fromkeys([g for g, _ in groups], "#000"), **kw)
    }


def test_one_run_shows_what_the_trainer_logged(tmp_path):
    run = _run(tmp_path, "dph_js", 0, entropy=0.5, counts=[3, 5, 1, 8] * 6)
    panels = _panels([run], resamples=300, seed=0)
    assert list(panels) == [p.title for p in PANELS]
    (pass1,) = panels["Pass@1 (eval)"].traces
    stored = {step: _result(c) for step, c in ((0, [2, 4, 0, 8] * 6), (10, [3, 5, 1, 8] * 6))}
    assert pass1.values == pytest.approx({s: r.pass_at_k[1] for s, r in stored.items()})
    # Its band is the interval the trainer logs (same bootstrap: problems, 300 resamples, seed 0).
    for step, r in stored.items():
        assert pass1.band[step] == pytest.approx(tuple(r.pass_at_k_ci[1]))
    assert panels["Pass@{n} (eval)"].title == "Pass@8 (eval)"
    (entropy,) = panels["Policy entropy"].traces
    assert sorted(entropy.values) == list(range(1, 11)) and entropy.band == {}  # nan at step 11 left out
    pef, exp = panels["D_pef / D_exp prompts"].traces
    assert (pef.values, exp.values, exp.dashed) == ({0: 40.0}, {0: 200.0}, True)


def test_seed_group_is_the_mean_with_the_seed_range(tmp_path):
    a = _run(tmp_path, "0_dph_js", 0, entropy=0.5, counts=[3, 5, 1, 8] * 6)
    b = _run(tmp_path, "1_dph_js", 1, entropy=0.3, counts=[5, 7, 3, 8] * 6)
    panels = _panels([a, b], resamples=300, seed=0)
    (entropy,) = panels["Policy entropy"].traces
    assert entropy.run == "dph_js"
    assert entropy.values[4] == pytest.approx(0.4 - 0.04)
    assert entropy.band[4] == pytest.approx((0.3 - 0.04, 0.5 - 0.04))
    (pass1,) = panels["Pass@1 (eval)"].traces
    mean = (_result([3, 5, 1, 8] * 6).pass_at_k[1] + _result([5, 7, 3, 8] * 6).pass_at_k[1]) / 2
    assert pass1.values[10] == pytest.approx(mean)
    low, high = pass1.band[10]
    assert low < mean < high


def test_missing_metrics_leave_their_panel_empty_not_broken(tmp_path):
    dph = _run(tmp_path, "dph_js", 0, entropy=0.5, counts=[3, 5, 1, 8] * 6)
    grpo = _run(tmp_path, "grpo", 0, entropy=0.5, counts=[3, 5, 1, 8] * 6, divergence=False)
    (grpo / "metrics.jsonl").write_text('{"step": 1, "reward/mean": 0.2}\n')  # no bank, entropy, divergence
    evaluated = tmp_path / "eval_only"  # `rlvr eval --run-dir`: evaluations, no metrics.jsonl
    save_eval(evaluated, 0, _result([1, 1, 1, 1] * 6))
    panels = _panels([dph, grpo, evaluated], resamples=100, seed=0)
    assert [t.run for t in panels["Divergence"].traces] == ["dph_js"]
    assert panels["Divergence"].missing == ["grpo", "eval_only"]
    assert [t.run for t in panels["Pass@1 (eval)"].traces] == ["dph_js", "grpo", "eval_only"]
    page = write_report([grpo, evaluated], tmp_path / "r.html", resamples=100).read_text()
    assert page.count('class="panel"') == len(PANELS) and "not logged by these runs" in page


def test_a_bad_metrics_row_is_named(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"step": 0, "a": 1}\n{"a": 2}\n')
    with pytest.raises(ValueError, match=r"metrics.jsonl:2: not a metrics row with a 'step'"):
        load_metrics(tmp_path)
