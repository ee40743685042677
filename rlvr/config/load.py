"""Compose recipes into a validated `TrainConfig`.

Two entry points share one schema: `rlvr train key=value ...` (full Hydra CLI: run dirs,
`--multirun` sweeps, `--cfg job`) and `compose_config([...])` for tests and notebooks.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from pathlib import Path

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from rlvr.config.schema import TrainConfig

RECIPES_DIR = Path(os.environ.get("RLVR_RECIPES", Path(__file__).resolve().parents[2] / "recipes"))
SCHEMA_NAME = "train_schema"

# Fields that are free-form dicts (verifier options, divergence params, data filters, engine
# options): open to new keys, so `verifier.options.extract=boxed` works without Hydra's `+`. The
# rest of the config stays in struct mode, where a misspelled key is an error naming its path.
OPEN_DICTS = ("data.where", "rollout.engine_options", "divergence.params", "verifier.options")


def _schema_node() -> DictConfig:
    node = OmegaConf.structured(TrainConfig)
    for path in OPEN_DICTS:
        OmegaConf.set_struct(OmegaConf.select(node, path), False)
    return node


ConfigStore.instance().store(name=SCHEMA_NAME, node=_schema_node())


def register_verifier_choices() -> None:
    """Make every registered verifier a choice of the `verifier` group (`verifier=choice`), also
    those of plugins (entry points) and of `register_verifier`, which have no YAML in recipes/:
    each gets a node {name: <name>}, its options settable as `verifier.options.KEY=VALUE`."""
    from rlvr.config.schema import VerifierConfig
    from verifiers.registry import available_verifiers

    with_yaml = {p.stem for p in (RECIPES_DIR / "verifier").glob("*.yaml")}
    store = ConfigStore.instance()
    for name in available_verifiers():
        if name not in with_yaml:
            store.store(group="verifier", name=name, node=VerifierConfig(name=name))


if not OmegaConf.has_resolver("expanduser"):
    OmegaConf.register_new_resolver("expanduser", os.path.expanduser)
if not OmegaConf.has_resolver("or_none"):  # run-dir names: a null divergence reads "none"
    OmegaConf.register_new_resolver("or_none", lambda value: "none" if value is None else value)


def compose_config(overrides: list[str] | None = None, config_name: str = "config") -> TrainConfig:
    """Compose `recipes/<config_name>.yaml` with `overrides` (Hydra syntax) into a TrainConfig."""
    from hydra import compose, initialize_config_dir

    if not RECIPES_DIR.is_dir():
        raise FileNotFoundError(f"recipes folder not found at {RECIPES_DIR}; set RLVR_RECIPES to its path")
    register_verifier_choices()
    with initialize_config_dir(config_dir=str(RECIPES_DIR), version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=list(overrides or []))
    return to_train_config(cfg)


def to_train_config(cfg: DictConfig) -> TrainConfig:
    """Resolve interpolations and return the typed object (raises on missing mandatory values)."""
    _check_keys(cfg, TrainConfig, "")
    OmegaConf.resolve(cfg)
    obj = OmegaConf.to_object(cfg)
    if not isinstance(obj, TrainConfig):  # composed without the schema in its defaults list
        obj = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(TrainConfig), cfg))
    return obj


def _check_keys(node: DictConfig, schema: type, path: str) -> None:
    """Reject keys the schema does not declare (Hydra's `+key=value` bypasses struct mode)."""
    declared = {f.name: f for f in dataclasses.fields(schema)}
    for key in node.keys():
        if key == "hydra":
            continue
        full = f"{path}{key}"
        if key not in declared:
            raise KeyError(
                f"unknown config key {full!r}; {schema.__name__} accepts: {', '.join(sorted(declared))}"
            )
        sub_type = typing.get_type_hints(schema).get(key)
        if dataclasses.is_dataclass(sub_type) and isinstance(node[key], DictConfig):
            _check_keys(node[key], sub_type, full + ".")
