"""Recipes compose into the typed schema; wrong keys fail naming their full path."""

import pytest
from hydra.errors import ConfigCompositionException

from rlvr.config import RECIPES_DIR, TrainConfig, compose_config


def test_default_recipe_is_dph_js_on_the_bundled_task():
    cfg = compose_config([])
    assert isinstance(cfg, TrainConfig)
    assert (cfg.algorithm.name, cfg.divergence.name, cfg.data.train) == ("dph", "js", "bundled:arith/train")
    assert cfg.algorithm.divergence_coef > 0


@pytest.mark.parametrize(
    ("overrides", "algorithm", "divergence"),
    [
        (["algorithm=grpo"], "grpo", None),
        (["algorithm=grpo", "divergence=reverse_kl"], "grpo", "reverse_kl"),
        (
            ["divergence=reverse_kl", "algorithm=grpo"],
            "grpo",
            "reverse_kl",
        ),  # order on the command line is irrelevant
        (["algorithm=grpo_kl"], "grpo", "reverse_kl"),
        (["algorithm=dapo"], "grpo", None),
        (["algorithm=dr_grpo"], "grpo", None),
        (["algorithm=rapo"], "rapo", "rapo"),
        (["algorithm=dph", "divergence=forward_kl"], "dph", "forward_kl"),
    ],
)
def test_algorithm_recipes_choose_their_divergence(overrides, algorithm, divergence):
    cfg = compose_config(overrides)
    assert (cfg.algorithm.name, cfg.divergence.name) == (algorithm, divergence)


def test_variant_recipes_set_their_knobs():
    assert (
        compose_config(["algorithm=dapo"]).algorithm.eps_high
        > compose_config(["algorithm=dapo"]).algorithm.eps_low
    )
    assert compose_config(["algorithm=dapo"]).algorithm.filter_zero_advantage_groups
    assert compose_config(["algorithm=dr_grpo"]).algorithm.advantage == "dr_grpo"
    assert compose_config(["divergence=alpha", "divergence.params.alpha=0.3"]).divergence.params == {
        "alpha": 0.3
    }


def test_every_recipe_file_composes():
    for group in ("algorithm", "divergence", "model", "data", "verifier", "cluster", "logger"):
        for f in sorted((RECIPES_DIR / group).glob("*.yaml")):
            overrides = [f"{group}={f.stem}"]
            if f.stem == "jsonl":
                overrides.append("data.train=/tmp/x.jsonl")
            compose_config(overrides)
    for f in sorted((RECIPES_DIR / "experiment").glob("*.yaml")):
        cfg = compose_config([f"+experiment={f.stem}", "data.train=/data/train.jsonl"])
        if f.stem.startswith("gpu_"):  # GPU presets join a Ray cluster and ask for GPUs
            assert cfg.cluster.address == "auto" and cfg.learner.num_gpus_per_rank >= 1


def test_pass_at_k_sweep_variants_share_one_budget():
    budgets = set()
    for variant, (algorithm, divergence) in {
        "grpo": ("grpo", None),
        "grpo_kl": ("grpo", "reverse_kl"),
        "dph_fkl": ("dph", "forward_kl"),
        "dph_js": ("dph", "js"),
    }.items():
        cfg = compose_config(["+experiment=pass_at_k_sweep", f"+variant={variant}"])
        assert (cfg.algorithm.name, cfg.divergence.name) == (algorithm, divergence)
        budgets.add(
            (cfg.steps, cfg.prompts_per_step, cfg.rollout.sampling.n, cfg.learner.lr, cfg.seed, cfg.eval.n)
        )
    assert len(budgets) == 1


def test_wrong_key_on_command_line_names_full_path():
    with pytest.raises(ConfigCompositionException, match="learner.lrr"):
        compose_config(["learner.lrr=1"])


def test_added_key_is_rejected_with_its_path():
    with pytest.raises(KeyError, match="learner.foo"):
        compose_config(["+learner.foo=1"])


def test_wrong_type_fails():
    with pytest.raises(ConfigCompositionException, match="learner.lr"):
        compose_config(["learner.lr=abc"])


def test_wrong_key_in_a_recipe_file_names_full_path(tmp_path, monkeypatch):
    import shutil

    import rlvr.config.load as load

    recipes = tmp_path / "recipes"
    shutil.copytree(RECIPES_DIR, recipes)
    (recipes / "model" / "typo.yaml").write_text("name: x\npath: y\nprepar: z\n")
    monkeypatch.setattr(load, "RECIPES_DIR", recipes)
    with pytest.raises(ConfigCompositionException, match="model.prepar"):
        load.compose_config(["model=typo"])


def test_smollm2_sql_recipe_trains_the_real_model_on_the_levels_it_solves():
    cfg = compose_config(["+experiment=smollm2_sql"])
    assert (cfg.model.prepare, cfg.data.name, cfg.verifier.name) == ("smollm2-135m", "sql", "sql")
    assert dict(cfg.data.where) == {"level": [1, 2]}
    assert cfg.eval.temperature == cfg.rollout.sampling.temperature < 1.0
    assert (cfg.algorithm.name, cfg.divergence.name) == ("dph", "forward_kl")
    from rlvr.bank.naming import bank_path

    # A bank sampled on levels 1-2 is named apart from one sampled on every level.
    assert bank_path(cfg).name == "smollm2-135m-sql-level1_2-n8-T0.7-p1"
    assert bank_path(compose_config(["model=smollm2-135m", "data=sql"])).name == "smollm2-135m-sql-n8-T1-p1"


def test_coefficients_are_chosen_on_validation_with_the_comparison_budget():
    sweep = compose_config(["+experiment=pass_at_k_sweep", "+variant=dph_js"])
    coef = compose_config(["+experiment=coef_sweep", "+variant=dph_js", "algorithm.divergence_coef=0.4"])
    assert coef.data.test == "bundled:arith/validation" != sweep.data.test
    assert coef.data.train == sweep.data.train
    for key in (
        "steps",
        "prompts_per_step",
        "eval.n",
        "eval.max_problems",
        "bank.pef_threshold",
        "learner.lr",
        "data.limit",
    ):
        a, b = sweep, coef
        for part in key.split("."):
            a, b = getattr(a, part), getattr(b, part)
        assert a == b, key
    assert coef.algorithm.divergence_coef == 0.4
