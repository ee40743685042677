"""`rlvr plan [overrides]`: per-device memory of a composed config, before launching it."""

from __future__ import annotations

import argparse


def add_parsers(subparsers) -> None:
    p = subparsers.add_parser(
        "plan",
        help="estimate per-device memory of a recipe: rlvr plan +experiment=gpu_qwen_math_dph_js",
        description="Estimate one learner rank's and one rollout worker's memory for the composed "
        "config (same overrides as `rlvr train`); exit 1 when something does not fit.",
    )
    p.add_argument("--device-gib", type=float, default=80.0, help="memory of one GPU (default 80)")
    p.add_argument("--model-config", help="a config.json to size the model from (no hub needed)")
    p.set_defaults(func=_plan, accepts_overrides=True)


def _plan(args: argparse.Namespace, rest: list[str]) -> int:
    import json

    from omegaconf.errors import MissingMandatoryValue

    from rlvr.config import compose_config
    from rlvr.plan.config_plan import plan_config
    from rlvr.plan.memory import GiB
    from rlvr.plan.shapes import ModelShape

    try:
        cfg = compose_config(rest)
    except MissingMandatoryValue as e:
        if "data.train" not in str(e):
            raise
        # The plan reads no data, only data.max_prompt_tokens: GPU recipes leave the file to the user.
        cfg = compose_config([*rest, "data.train=unused-by-plan"])
    if args.model_config:
        with open(args.model_config) as f:
            shape = ModelShape.from_hf_config(json.load(f))
    else:
        try:
            shape = ModelShape.from_pretrained(cfg.model.path)
        except OSError as e:
            raise SystemExit(
                f"rlvr plan: cannot read model.path={cfg.model.path}'s config ({e.__class__.__name__}); "
                "pass --model-config path/to/config.json"
            ) from None
    plan = plan_config(cfg, shape, args.device_gib)
    lc = cfg.learner

    def gib(b: float) -> str:
        return f"{b / GiB:8.2f}"

    where = f"one {args.device_gib:g} GiB GPU" if plan.device_bytes else "CPU (no device limit)"
    print(f"model {cfg.model.name}: {shape.params() / 1e9:.3f} B parameters; {where}")
    print(
        f"learner rank: ZeRO-{lc.zero_stage}, {lc.dtype}, world size {lc.world_size}, "
        f"{plan.micro_batch_rows:g} rows x {plan.seq_len} tokens per micro-batch, "
        f"gradient checkpointing {'on' if lc.gradient_checkpointing else 'off'}"
    )
    for name, b in plan.learner.items():
        print(f"  {name:<16}{gib(b)} GiB")
    print(f"  {'total':<16}{gib(plan.learner.total)} GiB")
    r = plan.rollout
    print(
        f"rollout worker: weights {gib(r.weights).strip()} GiB, KV cache {gib(r.kv_cache).strip()} GiB "
        f"= {r.sequences_at_max_len:.1f} sequences of {r.max_model_len} tokens"
    )
    for line in plan.warnings:
        print(f"WARNING: {line}")
    return 1 if plan.warnings else 0
