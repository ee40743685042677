"""Learner options and the DeepSpeed config built from them.

Field names follow `rlvr.config.schema.LearnerConfig` so a recipe's `learner:` group maps onto
`LearnerOptions.from_mapping(cfg.learner)`; keys that only the trainer reads (world size, PPO
epochs, mini-batches) are accepted there and ignored here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
LR_SCHEDULES = ("constant", "cosine")
# LearnerConfig keys that the trainer (not a learner rank) acts on.
TRAINER_KEYS = frozenset({"world_size", "mini_batches_per_step", "ppo_epochs"})


@dataclass
class LearnerOptions:
    """How one learner rank trains. Defaults suit a small model on CPU.

    zero_stage: 0 (plain data parallel), 1 (optimizer states sharded), 2 (+ gradients sharded),
        3 (+ parameters sharded; full weights are gathered for sync/export).
    dtype: "float32" or "bfloat16". bfloat16 loads weights in bf16 and lets DeepSpeed keep fp32
        master weights and optimizer states.
    lr, betas, adam_eps, weight_decay: torch AdamW (a client optimizer: no C++ op to compile).
    warmup_steps, lr_schedule, total_steps, min_lr_ratio: linear warmup over `warmup_steps`
        optimizer steps, then constant, or cosine decay to `min_lr_ratio * lr` at `total_steps`.
    grad_clip: global gradient-norm clip (0 disables).
    micro_batch_size: default rows per micro-batch of the largest source in `train_step`.
    logprob_chunk_size: tokens per LM-head chunk; bounds logits memory to ~3 x chunk x vocab floats.
    logprob_keep_logits_mib: a micro-batch whose selected tokens' float32 logits fit in this many
        MiB keeps them for backward instead of recomputing the LM head (one matmul fewer); 0: always
        recompute.
    pack_sequences: run the transformer body on sequences packed into fewer rows (no padding
        positions computed; same log-probs), when the model reads packed position ids (checked at
        start, see packing.py).
    temperature: rollouts sampled at T are scored with logits / T so ratios match the sampler.
    gradient_checkpointing: recompute transformer layers in backward (HF's implementation).
    num_cpus_per_rank, num_gpus_per_rank: Ray resources of one rank's actor.
    num_threads: torch threads of the rank (0: leave the process's, which Ray sets to num_cpus).
    dist_backend: None picks the accelerator's (nccl on CUDA, gloo on DeepSpeed's CPU accelerator).
    seed: torch/numpy/python RNG seed, offset by rank.
    """

    zero_stage: int = 0
    dtype: str = "float32"
    lr: float = 1e-5
    betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-8
    weight_decay: float = 0.0
    warmup_steps: int = 0
    lr_schedule: str = "constant"
    total_steps: int | None = None
    min_lr_ratio: float = 0.0
    grad_clip: float = 1.0
    micro_batch_size: int = 8
    logprob_chunk_size: int = 1024
    logprob_keep_logits_mib: int = 512
    pack_sequences: bool = True
    temperature: float = 1.0
    gradient_checkpointing: bool = False
    num_cpus_per_rank: float = 1.0
    num_gpus_per_rank: float = 0.0
    num_threads: int = 0
    dist_backend: str | None = None
    seed: int = 0
    deepspeed_overrides: dict[str, Any] = field(default_factory=dict)  # merged last into the DS config

    def __post_init__(self) -> None:
        self.betas = tuple(self.betas)  # YAML lists arrive as lists
        if self.zero_stage not in (0, 1, 2, 3):
            raise ValueError(f"learner.zero_stage must be 0, 1, 2 or 3, got {self.zero_stage}")
        if self.dtype not in DTYPES:
            raise ValueError(f"learner.dtype must be one of {sorted(DTYPES)}, got {self.dtype!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"learner.lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if self.lr_schedule == "cosine" and not self.total_steps:
            raise ValueError(
                "learner.lr_schedule=cosine needs learner.total_steps (optimizer steps of the run)"
            )
        if len(self.betas) != 2:
            raise ValueError(f"learner.betas must be two numbers, got {self.betas}")
        if self.logprob_keep_logits_mib < 0:
            raise ValueError(f"learner.logprob_keep_logits_mib={self.logprob_keep_logits_mib} must be >= 0")
        if self.micro_batch_size < 1 or self.logprob_chunk_size < 1:
            raise ValueError("learner.micro_batch_size and learner.logprob_chunk_size must be >= 1")
        if self.temperature <= 0:
            raise ValueError(f"learner.temperature must be > 0, got {self.temperature}")

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], **extra: Any) -> LearnerOptions:
        """Options from a config mapping (e.g. `cfg.learner`); `extra` wins (e.g. temperature=...)."""
        known = {f.name for f in fields(cls)}
        merged = {**dict(values), **extra}
        unknown = sorted(set(merged) - known - TRAINER_KEYS)
        if unknown:
            raise KeyError(f"unknown learner option(s) {unknown}; known: {sorted(known)}")
        check_gpu_share(float(merged.get("num_gpus_per_rank", 0.0)), int(merged.get("world_size", 1)))
        return cls(**{k: v for k, v in merged.items() if k in known})


def check_gpu_share(num_gpus_per_rank: float, world_size: int) -> None:
    """Refuse learner ranks that would share a GPU: Ray packs two 0.5-GPU actors onto one
    device, and NCCL cannot put two ranks of one communicator on the same device (it fails at
    the first collective, after the models are loaded). One rank alone may share its GPU (e.g.
    with a rollout worker)."""
    if world_size > 1 and 0 < num_gpus_per_rank < 1:
        raise ValueError(
            f"learner.num_gpus_per_rank={num_gpus_per_rank} with learner.world_size={world_size}: ranks "
            "would share a GPU, which NCCL cannot do; use learner.num_gpus_per_rank=1 (or 0 on CPU)"
        )


def deepspeed_config(options: LearnerOptions, world_size: int) -> dict[str, Any]:
    """The DeepSpeed config dict for `deepspeed.initialize`.

    Gradient accumulation is not DeepSpeed's: `train_step` decides how many micro-batches a step
    has (it varies with the batch), so `managed_gradient_accumulation` is off, every `backward`
    only accumulates, and `step()` is the boundary (reduce across ranks, clip, update). The
    micro-batch size and GAS below are bookkeeping only.
    """
    zero: dict[str, Any] = {"stage": options.zero_stage}
    if options.zero_stage == 3:
        # Sync/export gather full weights themselves; keep DeepSpeed from also consolidating a
        # 16-bit copy at every checkpoint.
        zero["stage3_gather_16bit_weights_on_model_save"] = False
    if options.zero_stage in (1, 2):
        # overlap_comm is only compatible with unmanaged accumulation at stage 2, and buys
        # nothing on gloo/CPU; NCCL users may turn it on through deepspeed_overrides.
        zero["overlap_comm"] = False
    config: dict[str, Any] = {
        "train_micro_batch_size_per_gpu": 1,
        "gradient_accumulation_steps": 1,
        "train_batch_size": world_size,
        "managed_gradient_accumulation": False,
        "gradient_clipping": options.grad_clip,
        "zero_optimization": zero,
        "bf16": {"enabled": options.dtype == "bfloat16"},
        # torch.optim.AdamW is a client optimizer, not one of DeepSpeed's compiled ones.
        "zero_allow_untested_optimizer": True,
        "steps_per_print": 10**9,
        "wall_clock_breakdown": False,
    }
    return _deep_merge(config, options.deepspeed_overrides)


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in override.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out
