"""Fixtures for end-to-end runs: a tiny random model, a small prompt file, a verifier plugin, Ray.

The model has learned nothing, so the math verifier would score every response 0 and give GRPO no
signal. The runs here use `parity`, a verifier registered in-process through the public plugin
API (the real math/SQL verifiers have their own suites): prompts whose reference is "any" are
always solved (so the bank has a D_pef), "even"/"odd" ones are solved when the response has an
even/odd number of words (so rewards vary within groups and weights move).
"""

from __future__ import annotations

import json
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    from rlvr.models.tiny import build_tiny_model

    return build_tiny_model(
        tmp_path_factory.mktemp("models") / "tiny", seed=0, hidden_size=128, num_layers=2, num_heads=2
    )


@pytest.fixture(scope="session")
def prompt_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "train.jsonl"
    refs = ["any", "even", "odd", "any", "odd", "even", "even", "odd"]
    path.write_text(
        "".join(
            json.dumps({"id": f"p{i}", "prompt": f"What is {i} + {i + 3}?", "answer": r}) + "\n"
            for i, r in enumerate(refs)
        )
    )
    return path


@pytest.fixture(scope="session", autouse=True)
def parity_verifier():
    import parity

    parity.register()


@pytest.fixture(scope="module")
def bank_dir(tiny_model, prompt_file, tmp_path_factory, ray_cluster):
    """A reference bank sampled once per module by the real `sample_reference`."""
    from rlvr.bank.build import sample_reference
    from rlvr.config import compose_config

    tmp = tmp_path_factory.mktemp("bank_run")
    return sample_reference(compose_config(_overrides(tiny_model, prompt_file, tmp))).path


@pytest.fixture(scope="module")
def ray_cluster():
    import ray

    ray.init(address="local", num_cpus=8, include_dashboard=False)
    yield
    ray.shutdown()


@pytest.fixture
def overrides(tiny_model, prompt_file, tmp_path):
    """Recipe overrides for a tiny run in tmp_path; extra overrides are appended (later ones win)."""
    return lambda *extra, tmp=tmp_path: _overrides(tiny_model, prompt_file, tmp, *extra)


def _overrides(tiny_model, prompt_file, tmp_path, *extra):
    return [
        f"model.path={tiny_model}",
        "model.name=tiny-test",
        "model.prepare=null",
        "data=jsonl",
        f"data.train={prompt_file}",
        "data.test=null",
        "verifier.name=parity",
        "prompts_per_step=4",
        "rollout.sampling.n=4",
        "rollout.sampling.max_tokens=12",
        "eval.n=4",
        "eval.max_problems=4",
        "logger.backends=[jsonl]",
        "logger.progress=false",
        "learner.micro_batch_size=8",
        "learner.lr=1e-3",
        "bank.samples_per_prompt=4",
        f"bank.path={tmp_path / 'bank'}",
        f"run_dir={tmp_path / 'run'}",
        "cache_dir=" + str(tmp_path / "cache"),
        *extra,
    ]
