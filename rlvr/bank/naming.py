"""Where a run's reference bank lives: the bank owns its naming.

A bank is reusable only by runs that would have drawn the same samples: the same model, data
(selection and limit), samples per prompt and sampling distribution. The default path encodes them,
so a run with another temperature or top_p never finds (and silently reuses) a bank drawn under
other sampling; `ReferenceBank.check` refuses it anyway, naming the field.
"""

from __future__ import annotations

import re
from pathlib import Path

from rlvr.config.schema import TrainConfig


def bank_path(cfg: TrainConfig) -> Path:
    """`bank.path` if set, else <cache_dir>/banks/<model>-<data>[-<where>][-first<N>]-n<k>-T<t>-p<p>."""
    if cfg.bank.path:
        return Path(cfg.bank.path).expanduser()
    limit = f"-first{cfg.data.limit}" if cfg.data.limit else ""
    where = "".join(
        "-" + re.sub(r"[^A-Za-z0-9_.]", "_", f"{key}{'_'.join(map(str, values))}")
        for key, values in sorted(cfg.data.where.items())
    )  # {level: [1, 2]} -> "-level1_2"
    s = cfg.rollout.sampling
    sampling = f"-T{s.temperature:g}-p{s.top_p:g}" + (f"-k{s.top_k}" if s.top_k > 0 else "")
    return (
        Path(cfg.cache_dir)
        / "banks"
        / f"{cfg.model.name}-{cfg.data.name}{where}{limit}-n{cfg.bank.samples_per_prompt}{sampling}"
    )


def sampling_signature(cfg: TrainConfig) -> dict[str, float | int | None]:
    """The fields of a bank manifest's `sampling` that decide pi_0's sample distribution."""
    s = cfg.rollout.sampling
    return {"temperature": s.temperature, "top_p": s.top_p, "top_k": None if s.top_k <= 0 else s.top_k}
