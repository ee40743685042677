"""Structured configuration (Hydra + dataclass schemas)."""

from rlvr.config.load import RECIPES_DIR, compose_config, to_train_config
from rlvr.config.schema import TrainConfig

__all__ = ["RECIPES_DIR", "TrainConfig", "compose_config", "to_train_config"]
