"""The memory plan of a composed training config, with what would not fit said before launch."""

from __future__ import annotations

from dataclasses import dataclass, field

from rlvr.config.schema import TrainConfig
from rlvr.plan.memory import GiB, LearnerMemory, RolloutMemory, learner_memory, rollout_memory
from rlvr.plan.shapes import ModelShape


@dataclass
class Plan:
    shape: ModelShape
    learner: LearnerMemory
    rollout: RolloutMemory
    device_bytes: int | None  # None: the run is on CPU (no per-device limit)
    micro_batch_rows: float
    seq_len: int
    warnings: list[str] = field(default_factory=list)


def micro_batch_rows(cfg: TrainConfig) -> float:
    """Rows in one learner forward. DPH-RL's "joint" weighting stacks bank rows with rollout rows
    in every micro-batch: the larger source fills micro_batch_size rows and the other comes in
    proportion (bank_ratio bank rows per rollout row), as rlvr.learner.microbatch splits them."""
    mbs = cfg.learner.micro_batch_size
    a = cfg.algorithm
    if a.name == "dph" and a.bank_weighting == "joint" and a.bank_ratio > 0:
        return mbs * (1 + min(a.bank_ratio, 1 / a.bank_ratio))
    return float(mbs)


def plan_config(cfg: TrainConfig, shape: ModelShape, device_gib: float | None) -> Plan:
    """Estimate one learner rank and one rollout worker of `cfg` on devices of `device_gib`."""
    lc, rc = cfg.learner, cfg.rollout
    on_gpu = lc.num_gpus_per_rank > 0 or rc.num_gpus_per_worker > 0
    device = int(device_gib * GiB) if (on_gpu and device_gib) else None
    seq_len = cfg.data.max_prompt_tokens + rc.sampling.max_tokens
    rows = micro_batch_rows(cfg)
    learner = learner_memory(
        shape,
        world_size=lc.world_size,
        zero_stage=lc.zero_stage,
        dtype=lc.dtype,
        micro_batch_rows=rows,
        seq_len=seq_len,
        gradient_checkpointing=lc.gradient_checkpointing,
        logprob_chunk_size=lc.logprob_chunk_size,
        logprob_keep_logits_mib=lc.logprob_keep_logits_mib,
    )
    eo = rc.engine_options
    max_model_len = int(eo.get("max_model_len", 1024))
    rollout = rollout_memory(
        shape,
        dtype=str(eo.get("dtype", cfg.model.dtype)),
        max_model_len=max_model_len,
        tensor_parallel_size=int(eo.get("tensor_parallel_size", 1)),
        device_bytes=device if rc.num_gpus_per_worker > 0 else None,
        gpu_memory_utilization=float(eo.get("gpu_memory_utilization", 0.5)),
        cpu_kv_cache_gib=float(eo.get("kv_cache_gib", 1)),
    )
    plan = Plan(shape, learner, rollout, device, rows, seq_len)
    w = plan.warnings
    if device is not None and lc.num_gpus_per_rank > 0:
        share = lc.num_gpus_per_rank if lc.num_gpus_per_rank < 1 else 1.0
        limit = share * device
        if learner.total > limit:
            hint = (
                "" if lc.gradient_checkpointing else "; learner.gradient_checkpointing=true cuts activations"
            )
            w.append(
                f"learner rank needs ~{learner.total / GiB:.1f} GiB, more than its {limit / GiB:.1f} GiB "
                f"(activations {learner.activations / GiB:.1f} GiB for {rows:g} rows x {seq_len} tokens){hint}"
            )
    if lc.world_size > 1 and 0 < lc.num_gpus_per_rank < 1:
        w.append(
            f"learner.num_gpus_per_rank={lc.num_gpus_per_rank} with world_size {lc.world_size}: refused at start"
        )
    if rollout.budget is not None:
        if rollout.weights + 1 * GiB > rollout.budget:
            w.append(
                f"rollout weights {rollout.weights / GiB:.1f} GiB do not fit gpu_memory_utilization x device "
                f"= {rollout.budget / GiB:.1f} GiB: raise rollout.engine_options.gpu_memory_utilization"
            )
        elif rollout.sequences_at_max_len < 1:
            w.append(
                f"rollout KV cache holds {rollout.sequences_at_max_len:.2f} sequences of {max_model_len} tokens"
            )
    if max_model_len < seq_len:
        w.append(
            f"rollout.engine_options.max_model_len={max_model_len} < data.max_prompt_tokens + "
            f"rollout.sampling.max_tokens = {seq_len}"
        )
    if eo.get("weight_sync") == "disk" and not eo.get("allow_large_disk_sync"):
        gib = rollout.weights * max(1, int(eo.get("tensor_parallel_size", 1))) / GiB
        if gib > float(eo.get("disk_sync_max_gib", 2.0)):
            w.append(f"weight_sync=disk at {gib:.1f} GiB per worker per step: refused at start")
    return plan
