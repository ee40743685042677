"""Per-device memory of one learner rank and one rollout worker, from a model shape and a config.

Estimates, in bytes, of what dominates a step (each term documented where it is computed);
allocator fragmentation, CUDA context (~0.5-1 GiB) and library workspaces are not included,
so leave ~10% headroom. Checked against measured peaks on CPU: BENCHMARKS.md, "rlvr plan".

Learner (DeepSpeed, AdamW, N = world_size, P = parameters, e = bytes of the training dtype):
    weights        e*P; at ZeRO-3 e*P/N plus two layers gathered whole (the one computing and
                   the one prefetched)
    gradients      e*P, /N at ZeRO-2/3; in bf16 DeepSpeed also keeps fp32 gradient
                   accumulators: 4P at stage 0 (BF16_Optimizer), 4P/N at stages 1-3
    master         bf16 only: fp32 master weights 4P/N (DeepSpeed partitions them at every stage)
    optimizer      Adam m and v in fp32: 8P, /N at ZeRO-1/2/3
    activations    what backward keeps for one micro-batch (see `activation_bytes`)
    logits         the chunked LM head: ~3 x chunk x vocab fp32 values (rlvr.learner.logprobs), plus
                   all tokens x vocab when they fit in learner.logprob_keep_logits_mib (kept)
Rollout worker (vLLM): weights e*P/tp inside gpu_memory_utilization x device; the rest (minus
~1 GiB of activations) is KV cache, 2 x layers x kv_dim x e bytes per token.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from rlvr.plan.shapes import ModelShape

GiB = 1024**3
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2, "auto": 2}
# vLLM's own forward-pass peak beyond weights and KV cache (profiled at start-up); a round guess.
VLLM_ACTIVATION_BYTES = 1 * GiB


def _dtype_bytes(dtype: str) -> int:
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"dtype {dtype!r}: choose one of {sorted(DTYPE_BYTES)}")
    return DTYPE_BYTES[dtype]


def layer_activation_bytes_per_token(shape: ModelShape, e: int) -> int:
    """What one HF Llama/Qwen2 decoder layer saves for backward, per token (SDPA attention, so no
    seq x seq matrix is kept). In the layer's dtype (e bytes): the attention input norm's output,
    q/k/v, rotated q/k, the attention output, o_proj's and the MLP norm's outputs, gate, up,
    silu(gate) and silu(gate)*up: 5h + 3kv + 4I values. Each RMSNorm upcasts to fp32 and keeps
    its fp32 input and normalised value (2 x 4h bytes) plus the e-byte product input."""
    h, kv, i = shape.hidden, shape.kv_dim, shape.intermediate
    return e * (5 * h + 3 * kv + 4 * i) + 2 * (8 * h + e * h)


def activation_bytes(shape: ModelShape, tokens: int, e: int, gradient_checkpointing: bool) -> int:
    """Activations kept by one micro-batch of `tokens` tokens (rows x padded length).

    Without checkpointing every layer's saved tensors live until its backward. With HF gradient
    checkpointing only each layer's input (e*h per token) is kept, and one layer's activations
    are rebuilt at a time during backward. Either way one more layer's worth is in flight as
    the gradients flowing back through it.
    """
    per_layer = layer_activation_bytes_per_token(shape, e) * tokens
    embed = e * shape.hidden * tokens
    if gradient_checkpointing:
        return shape.layers * embed + 2 * per_layer + embed
    return shape.layers * per_layer + per_layer + embed


@dataclass
class LearnerMemory:
    weights: int
    gradients: int
    master_weights: int
    optimizer: int
    activations: int
    logits: int

    def items(self) -> list[tuple[str, int]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self)]

    @property
    def states(self) -> int:
        """What persists between steps: weights, gradients, master weights, optimizer states."""
        return self.weights + self.gradients + self.master_weights + self.optimizer

    @property
    def total(self) -> int:
        return self.states + self.activations + self.logits


def learner_memory(
    shape: ModelShape,
    *,
    world_size: int,
    zero_stage: int,
    dtype: str,
    micro_batch_rows: float,
    seq_len: int,
    gradient_checkpointing: bool,
    logprob_chunk_size: int,
    logprob_keep_logits_mib: int = 0,
) -> LearnerMemory:
    """One learner rank's peak during a step (see the module docstring for each term)."""
    if zero_stage not in (0, 1, 2, 3):
        raise ValueError(f"learner.zero_stage must be 0-3, got {zero_stage}")
    e, P, N = _dtype_bytes(dtype), shape.params(), max(1, world_size)
    bf16 = e == 2
    weights = e * P if zero_stage < 3 else e * P / N + 2 * e * shape.layer_params()
    gradients = e * P / (N if zero_stage >= 2 else 1)
    if bf16:
        gradients += 4 * P / (N if zero_stage >= 1 else 1)
    master = 4 * P / N if bf16 else 0
    optimizer = 8 * P / (N if zero_stage >= 1 else 1)
    tokens = int(micro_batch_rows * seq_len)
    activations = activation_bytes(shape, tokens, e, gradient_checkpointing)
    logits = 3 * min(logprob_chunk_size, tokens) * shape.vocab * 4
    kept = tokens * shape.vocab * 4  # every token's logits, kept for backward when they fit
    if kept <= logprob_keep_logits_mib << 20:
        logits += kept
    return LearnerMemory(
        weights=int(weights),
        gradients=int(gradients),
        master_weights=int(master),
        optimizer=int(optimizer),
        activations=int(activations),
        logits=int(logits),
    )


@dataclass
class RolloutMemory:
    weights: int
    kv_bytes_per_token: int
    max_model_len: int
    budget: int | None  # gpu_memory_utilization x device; None on CPU (kv cache set in GiB)
    kv_cache: int  # bytes left for KV blocks

    @property
    def sequences_at_max_len(self) -> float:
        """Sequences of max_model_len tokens the KV cache holds at once."""
        return self.kv_cache / (self.kv_bytes_per_token * self.max_model_len)


def rollout_memory(
    shape: ModelShape,
    *,
    dtype: str,
    max_model_len: int,
    tensor_parallel_size: int = 1,
    device_bytes: int | None = None,
    gpu_memory_utilization: float = 0.5,
    cpu_kv_cache_gib: float = 1.0,
) -> RolloutMemory:
    """One vLLM worker (per tensor-parallel rank): weights, and the KV cache what is left holds."""
    e, tp = _dtype_bytes(dtype), max(1, tensor_parallel_size)
    weights = e * shape.params() // tp
    kv_per_token = 2 * shape.layers * shape.kv_dim * e // tp
    if device_bytes is None:
        return RolloutMemory(weights, kv_per_token, max_model_len, None, int(cpu_kv_cache_gib * GiB))
    budget = int(gpu_memory_utilization * device_bytes)
    kv = max(0, budget - weights - VLLM_ACTIVATION_BYTES)
    return RolloutMemory(weights, kv_per_token, max_model_len, budget, kv)
