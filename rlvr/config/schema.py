"""Structured config: the dataclass schema behind every Hydra group in `recipes/`.

Hydra merges the YAML groups into these dataclasses, so a wrong key or type fails at start-up with
its full path (e.g. `Key 'lrr' not in 'LearnerConfig' full_key: learner.lrr`). Group names match
the fields of `TrainConfig`; names inside a group (algorithm, divergence, engine, verifier)
match registry names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING


@dataclass
class ModelConfig:
    name: str = MISSING  # a short label for logs and bank manifests
    path: str = MISSING  # a Hugging Face folder (or hub id where a hub is reachable)
    prepare: str | None = None  # `rlvr model prepare NAME` recipe that builds `path` when missing
    dtype: str = "float32"  # float32 | bfloat16
    chat_template: bool = True  # wrap prompts with the tokenizer's chat template
    system_prompt: str | None = None


@dataclass
class DataConfig:
    name: str = MISSING
    train: str = MISSING  # JSONL/Parquet file, or `hf:DATASET[:CONFIG]:SPLIT`
    test: str | None = None
    prompt_key: str = "prompt"
    answer_key: str = "answer"
    id_key: str | None = "id"
    metadata_keys: list[str] = field(default_factory=list)  # columns passed to the verifier
    where: dict[str, list[Any]] = field(default_factory=dict)  # keep rows by column: {level: [1, 2]}
    max_prompt_tokens: int = 256
    limit: int | None = None  # use the first N training prompts (smoke runs)


@dataclass
class SamplingConfig:
    n: int = 8  # responses per prompt (the GRPO group size)
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    max_tokens: int = 128


@dataclass
class RolloutConfig:
    engine: str = "vllm"  # rollout engine registry name: vllm | hf
    num_workers: int = 1
    num_cpus_per_worker: float = 1.0
    num_gpus_per_worker: float = 0.0
    engine_options: dict[str, Any] = field(default_factory=dict)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    # Overlap generation with learning (async / one-step off-policy RL): the workers generate the
    # batches of up to K steps ahead while the learner trains, so a batch is learned from K weight
    # updates after the weights that sampled it (PPO's ratio uses the sampler's log-probs).
    # 0: the synchronous loop (generate, learn, sync, in turn).
    max_staleness: int = 0
    # torch threads per worker on CPU; 0: auto (every core when phases take turns, a split when
    # max_staleness > 0 overlaps them; Ray's OMP_NUM_THREADS on a remote cluster)
    num_threads: int = 0
    # PPO's log pi_old. "auto": the sampler's log-probs (asked of the engine) only when the learner
    # cannot give them itself, i.e. when a batch is learned over several optimizer steps
    # (learner.mini_batches_per_step or ppo_epochs > 1) or was sampled by older weights
    # (max_staleness > 0); otherwise the learner's own log-probs, detached, are pi_old (ratio 1, as
    # TRL does) and the engine skips its per-token log-prob work. "always": the sampler's.
    sampler_logprobs: str = "auto"


@dataclass
class LearnerConfig:
    world_size: int = 1
    num_cpus_per_rank: float = 1.0
    num_gpus_per_rank: float = 0.0
    zero_stage: int = 0
    dtype: str = "float32"
    lr: float = 1e-5
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    adam_eps: float = 1e-8
    warmup_steps: int = 0
    lr_schedule: str = "constant"  # constant | cosine
    grad_clip: float = 1.0
    micro_batch_size: int = 8
    mini_batches_per_step: int = 1  # optimizer steps per rollout batch
    ppo_epochs: int = 1
    logprob_chunk_size: int = 1024  # tokens per lm_head chunk (bounds logits memory)
    # a micro-batch whose float32 logits fit in this many MiB keeps them for backward instead of
    # recomputing the LM head (one matmul fewer); 0: always recompute
    logprob_keep_logits_mib: int = 512
    # padding-free forwards: sequences packed into fewer rows (same log-probs; turned off with a
    # warning for a model whose attention ignores packed position ids)
    pack_sequences: bool = True
    gradient_checkpointing: bool = False  # recompute layers in backward: activations ~1/10, ~1.3x compute
    num_threads: int = 0  # torch threads per rank on CPU; 0: auto (see rollout.num_threads)


@dataclass
class AlgorithmConfig:
    name: str = MISSING  # grpo | rapo | dph (the algorithm registry)
    advantage: str = "grpo"  # advantage estimator registry name
    policy_loss: str = "ppo_clip"
    eps_low: float = 0.2
    eps_high: float = 0.2
    dual_clip: float | None = None
    advantage_eps: float = 1e-6  # GRPO's std epsilon: (R - mean) / (std + eps); TRL uses 1e-4
    aggregation: str = "token-mean"
    aggregation_norm: float | None = None  # seq-mean-token-sum-norm's constant (Dr.GRPO: max response length)
    entropy_coef: float = 0.0
    divergence_coef: float = 0.0  # beta for reverse KL, eta for DPH, the RAPO weight
    filter_zero_advantage_groups: bool = False  # DAPO dynamic sampling (drop all-equal groups)
    # How bank samples (DPH-RL) join a step. "joint": every micro-batch holds rollouts and bank rows
    # and its loss is policy + coef * divergence. "paper": the DPH-RL authors' verl fork: bank rows
    # get micro-batches of their own, every micro-batch's token-mean weighs the same, so the
    # divergence's effective weight is coef * bank_rows / rollout_rows (README, "Two conventions").
    bank_weighting: str = "joint"
    bank_ratio: float = 1.0  # bank rows per rollout row in a step (the authors': 256 / 2048 = 0.125)
    bank_batch_size: int = 0  # bank rows per step; 0: bank_ratio x the rollout rows


@dataclass
class DivergenceConfig:
    name: str | None = None  # divergence registry name, or null for no divergence term
    params: dict[str, Any] = field(default_factory=dict)  # e.g. {alpha: 0.5}
    log_ratio_clamp: float = 20.0


@dataclass
class BankConfig:
    path: str | None = None  # defaults to <run cache>/banks/<model>-<data>
    samples_per_prompt: int = 8
    pef_threshold: float = 1.0  # a prompt is in D_pef when this fraction of its samples is correct
    rehearse: str = "correct"  # which pi_0 samples of D_pef prompts the divergence sees: correct | all
    # How a step's bank rows are drawn. "chunks" (the DPH-RL authors'): consecutive stored samples,
    # a few prompts with their samples side by side, chunks in seeded shuffled order. "shuffled":
    # rows one by one in seeded shuffled epochs (the only order before; RESULTS.md's runs pin it).
    order: str = "chunks"
    shard_size: int = 4096
    recompute_logprobs: bool = False  # recompute pi_0 log-probs with the learner instead of the sampler's
    build_if_missing: bool = True  # `rlvr train` runs sample-reference itself when the bank is missing


@dataclass
class VerifierConfig:
    name: str = "math"  # verifier registry name (entry points included)
    mode: str = "pool"  # pool | ray | http
    url: str | None = None  # http mode
    timeout_s: float = 120.0  # http mode: per request
    num_actors: int = 2  # ray mode
    num_cpus_per_actor: float = 0.5  # ray mode
    options: dict[str, Any] = field(
        default_factory=dict
    )  # verifier options, e.g. {extract: "boxed,last_number"}


@dataclass
class ClusterConfig:
    name: str = "local"
    address: str | None = None  # None starts a local Ray cluster; "auto" joins a running one
    num_cpus: int | None = None
    num_gpus: int | None = None
    namespace: str = "rlvr"
    placement: str = "PACK"  # Ray placement strategy per actor group: PACK | SPREAD (| STRICT_*)
    max_restarts: int = 2  # restarts of a dead rollout worker; its step part is retried, same seed
    # claim rollout workers and learner ranks that already imported vLLM/DeepSpeed in the running
    # cluster at `address`, and leave fresh ones for the next run (CPU only; rlvr.cluster.warm)
    warm: bool = False


@dataclass
class LoggerConfig:
    backends: list[str] = field(default_factory=lambda: ["jsonl"])  # jsonl | tensorboard | wandb
    project: str = "rlvr"
    wandb_mode: str = "offline"  # online | offline | disabled
    progress: bool = True
    samples: int = 4  # responses per step and per evaluation kept in RUN/samples.jsonl (0: none)
    # false: engine (vLLM, DeepSpeed) and Ray output goes to RUN/engines.log and RUN/train.log, the
    # console shows progress, timings, results and rlvr's warnings; true: all of it on the console
    verbose: bool = False


@dataclass
class EvalConfig:
    every: int = 0  # steps between evaluations (0: only at the start and end)
    # evaluate the base model at step 0; false when several runs share one base evaluation (a sweep's
    # runs of one seed: `rlvr eval --run-dir DIR --step 0` evaluates it once)
    at_start: bool = True
    n: int = 16  # samples per problem for Pass@k
    max_problems: int | None = None
    temperature: float = 1.0


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    algorithm: AlgorithmConfig = field(default_factory=AlgorithmConfig)
    divergence: DivergenceConfig = field(default_factory=DivergenceConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    learner: LearnerConfig = field(default_factory=LearnerConfig)
    bank: BankConfig = field(default_factory=BankConfig)
    verifier: VerifierConfig = field(default_factory=VerifierConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    run_dir: str = "runs/default"
    cache_dir: str = "${expanduser:${oc.env:RLVR_CACHE,'~/.cache/rlvr'}}"
    seed: int = 0
    steps: int = 10
    prompts_per_step: int = 8
    checkpoint_every: int = 0  # 0: only the final checkpoint
    checkpoint_keep_last: int = 0  # keep the newest N complete checkpoints (0: all)
    # true or "auto": continue from the run dir's latest complete checkpoint (none: start at step 0)
    resume: bool | str = False
