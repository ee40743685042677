"""`rlvr model prepare NAME`: build a model folder that vLLM and the learner load offline.

Recipes (registered by name, used as `model.prepare` in recipes/model/*.yaml):
  tiny-random   a seeded random tiny Llama + arithmetic tokenizer (tests, smoke runs)
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


def prepare_model(name: str, out: str | Path) -> Path:
    """Build model `name` into `out` unless it is already there (a folder with config.json)."""
    out = Path(out).expanduser()
    if (out / "config.json").exists():
        return out
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    PREPARE.get(name)(tmp)
    tmp.rename(out)  # atomic: an interrupted build never leaves a half-written model behind
    return out
