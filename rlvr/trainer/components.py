"""Build the run's components from config: Ray, model folder, rollout workers, learner ranks,
reference worker and verifier. Shared by `rlvr train`, `rlvr sample-reference` and `rlvr eval`."""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from pathlib import Path

from rlvr.config.schema import (
    ClusterConfig,
    LearnerConfig,
    ModelConfig,
    RolloutConfig,
    SamplingConfig,
    VerifierConfig,
)
from rlvr.tracking import logs

log = logging.getLogger(__name__)


def init_ray(cluster: ClusterConfig) -> None:
    """Join `cluster.address` ("auto": a running cluster) or start a local one for this run only.

    A token in RAY_AUTH_TOKEN(_PATH) turns on Ray's token mode, which Ray itself would not do.
    """
    from rlvr.cluster import placement
    from rlvr.cluster.auth import enable_token_auth_if_token_given

    placement.set_policy(cluster.placement, cluster.max_restarts)
    enable_token_auth_if_token_given()
    import ray

    # DeepSpeed compiles C++ ops on first use (minutes on CPU): cache them per venv, like `make` does.
    os.environ.setdefault("TORCH_EXTENSIONS_DIR", os.path.join(sys.prefix, "torch_extensions"))
    logs.adopt_ray_logger()  # Ray's driver messages to the run's train.log, not the console
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    # `rlvr train`: workers' output (vLLM, DeepSpeed) to RUN/engines.log unless logger.verbose
    quiet = logs.ray_init_options()
    if cluster.address:
        ray.init(address=cluster.address, namespace=cluster.namespace, **quiet)
    else:
        ray.init(
            address="local",
            num_cpus=cluster.num_cpus,
            num_gpus=cluster.num_gpus,
            namespace=cluster.namespace,
            include_dashboard=False,
            **quiet,
        )


def ensure_model(model: ModelConfig) -> str:
    """The model's folder; builds it with its `prepare` recipe the first time."""
    path = Path(model.path).expanduser()
    if (path / "config.json").exists():
        return str(path)
    if model.prepare:
        from rlvr.models.prepare import prepare_model

        log.info("model %s missing at %s: preparing it with %r", model.name, path, model.prepare)
        return str(prepare_model(model.prepare, path))
    if path.is_absolute() or model.path.startswith((".", "~")):
        raise FileNotFoundError(f"model.path {path} has no config.json and model.prepare is not set")
    return model.path  # a hub id, where a hub is reachable


def load_tokenizer(model_path: str):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_path)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


SAMPLER_LOGPROBS = ("auto", "always")


def wants_sampler_logprobs(rollout: RolloutConfig, learner: LearnerConfig) -> bool:
    """Whether PPO's log pi_old must come from the sampler (see `rollout.sampler_logprobs`)."""
    if rollout.sampler_logprobs not in SAMPLER_LOGPROBS:
        raise ValueError(
            f"rollout.sampler_logprobs={rollout.sampler_logprobs!r}; choose one of {', '.join(SAMPLER_LOGPROBS)}"
        )
    if rollout.sampler_logprobs == "always":
        return True
    return rollout.max_staleness > 0 or learner.mini_batches_per_step > 1 or learner.ppo_epochs > 1


def sampling_params(cfg: SamplingConfig, **overrides):
    """Our engine-independent SamplingParams from the `rollout.sampling` config (top_k <= 0: off)."""
    from rlvr.rollout.types import SamplingParams

    return SamplingParams(
        **{
            "n": cfg.n,
            "temperature": cfg.temperature,
            "top_p": cfg.top_p,
            "top_k": None if cfg.top_k <= 0 else cfg.top_k,
            "max_tokens": cfg.max_tokens,
            **overrides,
        }
    )


@dataclasses.dataclass(frozen=True)
class ThreadPlan:
    """torch threads per rollout worker and per learner rank (0: the process's own, which Ray sets
    to the actor's num_cpus), and why."""

    rollout: int
    learner: int
    reason: str


def thread_plan(rollout: RolloutConfig, learner: LearnerConfig, cluster: ClusterConfig) -> ThreadPlan:
    """Who computes on how many cores. Explicit `rollout.num_threads` / `learner.num_threads` win.

    Auto (0), on a local Ray cluster whose actors are on CPU: Ray would give each actor
    OMP_NUM_THREADS = its num_cpus (1), leaving cores idle. When generation and learning take turns
    (`rollout.max_staleness=0`) each phase gets every core: a worker gets cores / workers, a rank
    cores / ranks. When they overlap the cores are split among all of them. On a remote cluster or
    on GPUs auto leaves Ray's setting alone (the actors' nodes are not this machine).
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cluster.num_cpus:
        cores = min(cores, int(cluster.num_cpus))
    workers, ranks = max(1, rollout.num_workers), max(1, learner.world_size)
    local_cpu = not cluster.address
    if rollout.max_staleness > 0:
        share = max(1, cores // (workers + ranks))
        auto_rollout = auto_learner = share
        reason = f"overlapped (max_staleness={rollout.max_staleness}): {cores} cores split"
    else:
        auto_rollout, auto_learner = max(1, cores // workers), max(1, cores // ranks)
        reason = f"phases take turns: each gets the {cores} cores"
    r = rollout.num_threads or (auto_rollout if local_cpu and rollout.num_gpus_per_worker == 0 else 0)
    lr = learner.num_threads or (auto_learner if local_cpu and learner.num_gpus_per_rank == 0 else 0)
    if rollout.num_threads or learner.num_threads:
        reason += "; set in the config where non-zero"
    return ThreadPlan(rollout=r, learner=lr, reason=reason)


def make_rollout(
    cfg: RolloutConfig,
    model_path: str,
    *,
    seed: int,
    dtype: str,
    num_threads: int = 0,
    wait: bool = True,
    warm: bool = False,
):
    from rlvr.rollout import RolloutGroup

    # PPO's log pi_old must be scored like the learner scores log pi: the learner divides logits by
    # the sampling temperature, so at T != 1 the sampler reports temperature-processed log-probs.
    mode = "raw" if cfg.sampling.temperature == 1.0 else "processed"
    return RolloutGroup(
        cfg.num_workers,
        cfg.engine,
        model_path,
        engine_options={"seed": seed, "dtype": dtype, "logprobs_mode": mode, **cfg.engine_options},
        num_cpus_per_worker=cfg.num_cpus_per_worker,
        num_gpus_per_worker=cfg.num_gpus_per_worker,
        num_threads_per_worker=num_threads,
        wait=wait,
        warm=warm,
    )


def make_learner(
    cfg: LearnerConfig,
    model_path: str,
    *,
    seed: int,
    temperature: float,
    total_steps: int,
    num_threads: int | None = None,
    wait: bool = True,
    warm: bool = False,
):
    from rlvr.learner import LearnerGroup, LearnerOptions

    options = LearnerOptions.from_mapping(
        dataclasses.asdict(cfg),
        seed=seed,
        temperature=temperature,
        total_steps=total_steps,
        num_threads=cfg.num_threads if num_threads is None else num_threads,
    )
    return LearnerGroup(cfg.world_size, model_path, options, wait=wait, warm=warm)


def make_reference(model_path: str, cfg: LearnerConfig, *, temperature: float = 1.0, num_threads: int = 0):
    """Online pi_0 log-probs, only for divergences over the policy's samples (reverse KL, RAPO)."""
    import ray

    from rlvr.trainer.reference import ReferenceWorker

    actor = ray.remote(num_cpus=cfg.num_cpus_per_rank, num_gpus=cfg.num_gpus_per_rank)(ReferenceWorker)
    return actor.remote(
        model_path,
        dtype=cfg.dtype,
        chunk_tokens=cfg.logprob_chunk_size,
        temperature=temperature,
        num_threads=num_threads,
        pack_sequences=cfg.pack_sequences,
    )


def check_verifier(cfg: VerifierConfig) -> None:
    """Resolve the verifier and parse its options before anything starts (Ray, vLLM, DeepSpeed):
    a misspelled name or option fails in a second with the list of valid ones, not after start-up.
    HTTP mode is the service's to check."""
    if cfg.mode not in ("pool", "ray", "http"):
        raise ValueError(f"verifier.mode must be pool, ray or http, got {cfg.mode!r}")
    if cfg.mode == "http":
        return
    from verifiers.options import parse_options
    from verifiers.registry import verifier_class

    cls = verifier_class(cfg.name)
    options_cls = getattr(cls, "Options", None)
    if options_cls is not None:
        try:
            parse_options(options_cls, dict(cfg.options), verifier=cfg.name)
        except TypeError as e:  # unknown option names: a config error, reported as one
            raise ValueError(f"verifier.options: {e}") from None


def check_warm(cluster: ClusterConfig, num_gpus: float) -> None:
    """Refuse cluster.warm where it cannot work: it needs a cluster that outlives the run, on CPU."""
    if not cluster.warm:
        return
    if not cluster.address:
        raise ValueError(
            "cluster.warm=true keeps actors in a Ray cluster between runs: set cluster.address to a "
            "running one (e.g. `ray start --head`, then cluster.address=auto); a run's own local "
            "cluster ends with it"
        )
    if num_gpus > 0:
        raise ValueError(
            "cluster.warm=true is for CPU actors (a warm actor reserves no GPU, so it could not use "
            "one); set rollout.num_gpus_per_worker=0 and learner.num_gpus_per_rank=0 or cluster.warm=false"
        )


def check_weight_sync(rollout: RolloutConfig, learner: LearnerConfig, cluster: ClusterConfig) -> None:
    """Refuse, before anything starts, a `rollout.engine_options.weight_sync` that cannot work.

    NCCL weight sync needs the vllm engine and a whole CUDA device for every learner rank and
    rollout worker (NCCL refuses two members of one group on the same device). A remote
    cluster's devices are the actors' to check; a local one is this machine's.
    """
    from rlvr.rollout.engines.vllm_engine import WEIGHT_SYNCS, check_cpu_linear  # imports no vLLM

    sync = rollout.engine_options.get("weight_sync", "auto")
    if rollout.engine == "vllm" and sync not in WEIGHT_SYNCS:
        raise ValueError(
            f"rollout.engine_options.weight_sync={sync!r}; choose one of {', '.join(WEIGHT_SYNCS)}"
        )
    if rollout.engine == "vllm":
        check_cpu_linear(rollout.engine_options.get("cpu_linear", "packed"), sync)
    if sync == "shared_memory":
        key = "rollout.engine_options.weight_sync=shared_memory"
        if rollout.engine != "vllm":
            raise ValueError(f"{key} needs rollout.engine=vllm (got {rollout.engine!r}); use in_process")
        if rollout.num_gpus_per_worker > 0 or learner.num_gpus_per_rank > 0:
            raise ValueError(f"{key} is for CPU runs (the weights in /dev/shm); on GPUs use weight_sync=nccl")
    if sync != "nccl":
        return
    key = "rollout.engine_options.weight_sync=nccl"
    if rollout.engine != "vllm":
        raise ValueError(f"{key} needs rollout.engine=vllm (got {rollout.engine!r}); use in_process or disk")
    if rollout.num_gpus_per_worker < 1 or learner.num_gpus_per_rank < 1:
        raise ValueError(
            f"{key} needs a whole GPU per rollout worker and learner rank (got "
            f"rollout.num_gpus_per_worker={rollout.num_gpus_per_worker:g}, "
            f"learner.num_gpus_per_rank={learner.num_gpus_per_rank:g}); on CPU use in_process or disk"
        )
    if not cluster.address:
        import torch

        if not torch.cuda.is_available():
            raise ValueError(
                f"{key} needs CUDA, and this machine (a local Ray cluster) has no CUDA device; "
                "use weight_sync=in_process or disk"
            )


def resolve_weight_sync(
    rollout: RolloutConfig, learner: LearnerConfig, cluster: ClusterConfig, model_path: str, dtype: str
) -> str:
    """`rollout.engine_options.weight_sync=auto` made concrete where the choice is the trainer's.

    With `cpu_linear=plain` on a local CPU cluster, auto means shared_memory (no copy in the
    workers; rlvr.rollout.shared_weights) when /dev/shm has room for its two slots with a quarter
    to spare, in_process otherwise; everywhere else auto stays auto (the engine's own choice).
    Sets the choice in `rollout.engine_options` and returns it.
    """
    options = rollout.engine_options
    sync = options.get("weight_sync", "auto")
    local_cpu = not cluster.address and rollout.num_gpus_per_worker == 0 and learner.num_gpus_per_rank == 0
    if sync != "auto" or rollout.engine != "vllm" or options.get("cpu_linear") != "plain" or not local_cpu:
        return sync
    from rlvr.rollout.engines.vllm_engine import model_bytes
    from rlvr.rollout.shared_weights import SHM_DIR, free_bytes

    slots, free = 2 * model_bytes(model_path, dtype), free_bytes(SHM_DIR)
    sync = "shared_memory" if free >= 1.25 * slots else "in_process"
    options["weight_sync"] = sync
    log.info(
        "weight_sync=auto with cpu_linear=plain: %s (%s has %.0f MiB free, the slots take %.0f MiB)",
        sync,
        SHM_DIR,
        free / 2**20,
        slots / 2**20,
    )
    return sync


def make_verifier(cfg: VerifierConfig):
    """The same `.verify_batch` interface, whichever way it runs (pool, Ray actors, HTTP)."""
    if cfg.mode == "pool":
        from verifiers import get_verifier

        return get_verifier(cfg.name, **cfg.options)
    if cfg.mode == "ray":
        from verifiers.service.ray_pool import RayVerifierPool

        return RayVerifierPool(
            cfg.name,
            num_actors=cfg.num_actors,
            actor_options={"num_cpus": cfg.num_cpus_per_actor},
            **cfg.options,
        )
    if cfg.mode == "http":
        if not cfg.url:
            raise ValueError("verifier.mode=http needs verifier.url (e.g. http://127.0.0.1:8600)")
        from verifiers.service.http_client import HttpVerifier

        return HttpVerifier(cfg.url, timeout=cfg.timeout_s)
    raise ValueError(f"verifier.mode must be pool, ray or http, got {cfg.mode!r}")
