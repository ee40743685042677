"""The embedded default ships as versioned weights: every machine prepares the same bytes."""

import fnmatch
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from rlvr.models.prepare import SHIPPED, prepare_model
from rlvr.models.shipped import (
    SUMS_FILE,
    WEIGHTS_DIR,
    install_shipped,
    read_sums,
    recorded_fingerprint,
    shipped_dir,
)

ROOT = Path(__file__).resolve().parents[2]
NAME = "tiny-arith-v2"


def test_the_prepared_model_has_the_recorded_fingerprint(tmp_path):
    out = prepare_model(NAME, tmp_path / NAME)
    weights = hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest()
    assert weights == recorded_fingerprint(NAME)
    assert {f.name for f in out.iterdir()} >= {"config.json", "tokenizer.json", "model.safetensors"}


def test_the_prepared_model_loads_and_answers_in_format(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = prepare_model(NAME, tmp_path / NAME)
    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    ids = tok.apply_chat_template(
        [{"role": "user", "content": "What is 10 + 20? Put the final answer in \\boxed{}."}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )["input_ids"]
    text = tok.decode(model.generate(ids, max_new_tokens=40, do_sample=False)[0, ids.shape[1] :])
    assert "\\boxed{" in text  # a pre-trained model, not the random initialization


def test_damaged_weights_are_refused_naming_the_file(tmp_path):
    out = prepare_model(NAME, tmp_path / NAME)
    data = bytearray((out / "model.safetensors").read_bytes())
    data[-1] ^= 1
    (out / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"model\.safetensors has SHA-256"):
        prepare_model(NAME, out)  # an existing copy is checked again, not silently reused
    (out / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"model\.safetensors is missing"):
        prepare_model(NAME, out)


def test_a_damaged_source_is_refused_before_copying(tmp_path, monkeypatch):
    import rlvr.models.shipped as shipped

    fake = tmp_path / "weights"
    shutil.copytree(shipped_dir(NAME), fake / NAME)
    (fake / NAME / "config.json").write_text("{}")
    monkeypatch.setattr(shipped, "WEIGHTS_DIR", fake)
    with pytest.raises(ValueError, match=r"config\.json has SHA-256"):
        install_shipped(NAME, tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="no shipped model 'nope'"):
        install_shipped("nope", tmp_path / "out2")


def test_every_shipped_file_is_summed_and_packaged():
    folder = shipped_dir(NAME)
    sums = read_sums(folder / SUMS_FILE)
    assert set(sums) == {f.name for f in folder.iterdir()} - {SUMS_FILE}
    # setuptools' package-data globs must carry the folder into a wheel (not only an editable install).
    tomllib = pytest.importorskip("tomllib")  # standard library from Python 3.11
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    models = Path("rlvr/models")
    for f in folder.iterdir():
        rel = str(f.relative_to(ROOT / models))
        assert any(fnmatch.fnmatch(rel, g) for g in globs.get("rlvr.models", [])) or any(
            fnmatch.fnmatch(f.name, g) and "/" not in rel for g in globs.get("*", [])
        ), f"{rel} is not in pyproject's package-data"


def test_the_recipe_and_the_weights_have_one_version_name():
    from rlvr.config import compose_config

    cfg = compose_config(["model=tiny"])
    assert cfg.model.name == cfg.model.prepare == Path(cfg.model.path).name == NAME
    assert NAME in SHIPPED and (WEIGHTS_DIR / NAME).is_dir()


def test_the_shipped_settings_are_the_pretraining_stages():
    """`python -m rlvr.models.regenerate` runs `STAGES`, so they must be what made the weights."""
    from rlvr.models.pretrain import STAGES

    made = json.loads((shipped_dir(NAME) / "rlvr_tiny.json").read_text())
    assert made["builder"] == "rlvr.models.pretrain.pretrain_stages"
    assert made["stages"] == json.loads(json.dumps(STAGES))  # tuples as JSON lists
