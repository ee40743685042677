"""Seed groups and paired comparisons on small run directories written here in the real formats:
eval/step_N.json by `save_eval`, .hydra/config.yaml as Hydra saves a composed recipe."""

import json
import random
import re

import numpy as np
import pytest
from omegaconf import OmegaConf

from rlvr.cli import main
from rlvr.eval.evaluate import EvalResult
from rlvr.eval.metrics import pass_at_k, pass_at_k_curve
from rlvr.eval.run import save_eval
from rlvr.eval.runs import collect_curves, comparisons, group_runs, load_run

N = 8
IDS = [f"arith-test-{j:05d}" for j in range(40)]


def _result(counts: dict[str, int], greedy: dict[str, bool] | None = None, n: int = N) -> EvalResult:
    ids = list(counts)
    rows = [{"id": pid, "correct": counts[pid], "distinct_correct": min(counts[pid], 2)} for pid in ids]
    if greedy is not None:
        for row in rows:
            row["greedy_correct"] = greedy[row["id"]]
    return EvalResult(
        n=n,
        num_problems=len(ids),
        pass_at_k=pass_at_k_curve([counts[p] for p in ids], n),
        greedy_accuracy=None if greedy is None else float(np.mean([greedy[p] for p in ids])),
        mean_distinct_correct=float(np.mean([r["distinct_correct"] for r in rows])),
        distinct_1=0.5,
        distinct_2=0.5,
        per_problem=rows,
    ).with_intervals(resamples=500)


def _counts(seed: int, p_correct: float, ids=IDS) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    return {pid: int(rng.binomial(N, p_correct * (1 + j % 3) / 2)) for j, pid in enumerate(ids)}


def _hydra_config(run_dir, overrides: list[str]) -> None:
    """What `rlvr train` leaves in RUN/.hydra/config.yaml: the composed recipe, hydra node removed."""
    from hydra import compose, initialize_config_dir

    from rlvr.config.load import RECIPES_DIR

    with initialize_config_dir(config_dir=str(RECIPES_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    (run_dir / ".hydra").mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")


def _run(tmp_path, folder, overrides, base_counts, final_counts):
    run = tmp_path / folder
    _hydra_config(run, overrides)
    save_eval(run, 0, _result(base_counts))
    save_eval(run, 10, _result(final_counts))
    return run


@pytest.fixture
def sweep(tmp_path):
    """Two seeds of GRPO, two of DPH-RL JS, as two multiruns would lay them out."""
    base = _counts(100, 0.2)
    runs = [
        _run(
            tmp_path,
            "sweep0/0_grpo_none",
            ["algorithm=grpo", "seed=0"],
            base,
            _counts(1, 0.3),
        ),
        _run(tmp_path, "sweep0/1_dph_js", ["seed=0"], base, _counts(2, 0.25)),
        _run(
            tmp_path,
            "sweep1/0_grpo_none",
            ["algorithm=grpo", "seed=1"],
            base,
            _counts(3, 0.3),
        ),
        _run(
            tmp_path,
            "sweep1/1_dph_js",
            ["seed=1", "run_dir=elsewhere", "logger=quiet"],
            base,
            _counts(4, 0.25),
        ),
    ]
    return runs


def test_runs_differing_only_by_seed_form_one_group(sweep, tmp_path):
    groups = group_runs([load_run(r) for r in sweep])
    assert [[r.path for r in g] for g in groups] == [[sweep[0], sweep[2]], [sweep[1], sweep[3]]]
    assert [r.seed for r in groups[0]] == [0, 1]
    lone = tmp_path / "evaluated"  # `rlvr eval --run-dir` stores no config: a group of its own
    save_eval(lone, 0, _result(_counts(5, 0.2)))
    assert len(group_runs([load_run(r) for r in [*sweep, lone]])) == 3


def test_group_curve_is_the_seed_mean_and_its_band_holds_it(sweep):
    curves = collect_curves(sweep, resamples=500)
    assert [c.label for c in curves] == ["base model", "grpo_none", "dph_js"]
    assert curves[1].seeds == [0, 1] and curves[1].num_problems == len(IDS)
    per_seed = [
        pass_at_k_curve(
            list(
                json.loads((r / "eval/step_000010.json").read_text())["per_problem"][j]["correct"]
                for j in range(len(IDS))
            ),
            N,
        )
        for r in (sweep[0], sweep[2])
    ]
    for k in range(1, N + 1):
        assert curves[1].pass_at_k[k] == pytest.approx((per_seed[0][k] + per_seed[1][k]) / 2)
        lo, hi = curves[1].ci[k]
        assert lo <= curves[1].pass_at_k[k] <= hi and hi - lo > 0
    # Each seed's own curve is kept, to show the seed-to-seed spread the band leaves out.
    assert [m.label for m in curves[1].members] == ["grpo_none seed 0", "grpo_none seed 1"]
    assert [m.pass_at_k[1] for m in curves[1].members] == pytest.approx([per_seed[0][1], per_seed[1][1]])


def test_identical_seeds_give_the_single_run_interval(tmp_path):
    counts = _counts(7, 0.3)
    one = _run(tmp_path, "a/0_grpo", ["algorithm=grpo", "seed=0"], counts, counts)
    two = _run(tmp_path, "b/0_grpo", ["algorithm=grpo", "seed=1"], counts, counts)
    single = collect_curves([one], resamples=500)[-1]
    pooled = collect_curves([one, two], resamples=500)[-1]
    assert pooled.seeds == [0, 1]
    assert pooled.ci == single.ci and pooled.distinct_ci == single.distinct_ci


def test_paired_difference_matches_brute_force_and_pairs_by_problem_id(tmp_path):
    a_counts, b_counts = _counts(11, 0.3), _counts(12, 0.2)
    greedy_a = {p: c >= 4 for p, c in a_counts.items()}
    greedy_b = {p: c >= 3 for p, c in b_counts.items()}
    a, b = tmp_path / "a", tmp_path / "b"
    save_eval(a, 5, _result(a_counts, greedy_a))
    # b lists its problems in another order, one problem a lacks, and one fewer: pairing is by id.
    b_ids = IDS[1:]
    random.Random(0).shuffle(b_ids)
    save_eval(b, 5, _result({**{p: b_counts[p] for p in b_ids}, "extra": 8}, {**greedy_b, "extra": True}))
    curves = collect_curves([a, b], resamples=500)
    (diff,) = comparisons(curves, pairs=[("a", "b")], resamples=500)
    assert diff.num_problems == len(IDS) - 1
    for k in (1, 4, 8):
        want = np.mean([pass_at_k(N, a_counts[p], k) - pass_at_k(N, b_counts[p], k) for p in IDS[1:]])
        d, lo, hi = diff.pass_at_k[k]
        assert d == pytest.approx(want) and lo <= d <= hi
    assert diff.greedy[0] == pytest.approx(np.mean([greedy_a[p] - greedy_b[p] for p in IDS[1:]]))


def test_paired_difference_of_seed_groups_uses_the_per_problem_seed_mean(sweep):
    curves = collect_curves(sweep, resamples=500)
    (diff,) = comparisons(curves, pairs=[("dph_js", "grpo_none")], resamples=500)

    def rows(run):
        return {
            r["id"]: r["correct"]
            for r in json.loads((run / "eval/step_000010.json").read_text())["per_problem"]
        }

    js = [rows(sweep[1]), rows(sweep[3])]
    grpo = [rows(sweep[0]), rows(sweep[2])]
    k = 2
    want = np.mean(
        [
            np.mean([pass_at_k(N, s[p], k) for s in js]) - np.mean([pass_at_k(N, s[p], k) for s in grpo])
            for p in IDS
        ]
    )
    assert diff.pass_at_k[k][0] == pytest.approx(want)


def test_seeds_on_other_problems_are_refused_naming_the_file(tmp_path):
    a = _run(tmp_path, "s0/0_grpo", ["algorithm=grpo", "seed=0"], _counts(1, 0.2), _counts(2, 0.3))
    b = _run(tmp_path, "s1/0_grpo", ["algorithm=grpo", "seed=1"], _counts(1, 0.2), _counts(3, 0.3, IDS[:20]))
    with pytest.raises(ValueError, match=r"s1/0_grpo/eval/step_000010\.json.*other problems"):
        collect_curves([a, b])


def test_groups_with_one_name_are_told_apart_by_config(tmp_path):
    base = _counts(1, 0.2)
    runs = [
        _run(tmp_path, "x/0_dph_js", ["algorithm.divergence_coef=0.05"], base, _counts(2, 0.3)),
        _run(tmp_path, "x/1_dph_js", ["algorithm.divergence_coef=0.1"], base, _counts(3, 0.3)),
    ]
    labels = [c.label for c in collect_curves(runs, resamples=200)]
    assert labels == ["base model", "dph_js divergence_coef=0.05", "dph_js divergence_coef=0.1"]


def test_files_from_before_intervals_still_load(tmp_path):
    old = tmp_path / "old"
    (old / "eval").mkdir(parents=True)
    # The format before per-problem rows and intervals: curve and summary numbers only.
    for step, p1 in ((0, 0.2), (20, 0.3)):
        (old / "eval" / f"step_{step:06d}.json").write_text(
            json.dumps(
                {
                    "n": 2,
                    "num_problems": 4,
                    "pass_at_k": {"1": p1, "2": p1 + 0.1},
                    "greedy_accuracy": 0.25,
                    "mean_distinct_correct": 1.0,
                    "distinct_1": 0.4,
                    "distinct_2": 0.5,
                }
            )
        )
    curves = collect_curves([old])
    assert [c.label for c in curves] == ["base model", "old"]
    assert curves[1].pass_at_k == {1: 0.3, 2: pytest.approx(0.4)} and curves[1].ci == {}
    with pytest.raises(ValueError, match="no per-problem results"):
        comparisons(curves, baseline="base model")


def test_cli_lists_the_asked_difference(sweep, tmp_path, capsys):
    out = tmp_path / "r" / "report.html"
    assert (
        main(
            [
                "report",
                *map(str, sweep),
                "--out",
                str(out),
                "--compare",
                "dph_js",
                "grpo_none",
                "--resamples",
                "300",
            ]
        )
        == 0
    )
    page = out.read_text()
    assert "dph_js − grpo_none" in page and "Δ pass@8" in page
    assert page.count('class="band"') == 4  # base, grpo_none, dph_js, and the difference's band
    capsys.readouterr()
    # a user error: one line naming the missing group and the known ones, exit status 2
    assert main(["report", *map(str, sweep), "--out", str(out), "--baseline", "ppo"]) == 2
    err = capsys.readouterr().err
    assert re.search(r"rlvr report: error: no run or seed group named 'ppo'.*grpo_none", err), err


def test_skipping_the_base_evaluation_keeps_seeds_in_one_group(tmp_path):
    """eval.at_start=false (a sweep sharing one base evaluation) trains and evaluates the final model
    the same way, so such a run is still a seed of its configuration; another eval.n is not."""
    base = _counts(100, 0.2)
    runs = [
        _run(tmp_path, "s0", ["algorithm=grpo", "seed=0"], base, _counts(1, 0.3)),
        _run(tmp_path, "s1", ["algorithm=grpo", "seed=1", "eval.at_start=false"], base, _counts(2, 0.3)),
        _run(tmp_path, "other_n", ["algorithm=grpo", "seed=2", "eval.n=32"], base, _counts(3, 0.3)),
    ]
    groups = group_runs([load_run(r) for r in runs])
    assert [[r.path for r in g] for g in groups] == [[runs[0], runs[1]], [runs[2]]]
