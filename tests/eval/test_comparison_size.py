"""The comparison recipe evaluates every method on at least 200 held-out problems x 32 samples."""

import pytest

from rlvr.config import compose_config
from rlvr.data import load_prompts


@pytest.mark.parametrize("variant", ["grpo", "grpo_kl", "dph_fkl", "dph_js"])
def test_pass_at_k_sweep_evaluates_200_problems_x_32_samples(variant):
    cfg = compose_config(["+experiment=pass_at_k_sweep", f"+variant={variant}"])
    assert cfg.eval.n >= 32
    # The problems the evaluation loads (rlvr.eval.run.load_test_set: the test split, first max_problems).
    d = cfg.data
    test = load_prompts(
        d.test,
        prompt_key=d.prompt_key,
        answer_key=d.answer_key,
        id_key=d.id_key,
        where=d.where,
        limit=cfg.eval.max_problems,
    )
    assert len(test) >= 200, f"{cfg.data.test} gives {len(test)} test problems under eval.max_problems"
