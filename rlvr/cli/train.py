"""`rlvr train`, `rlvr sample-reference` and `rlvr model prepare`."""

from __future__ import annotations

import logging
import sys


def add_parsers(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train with a Hydra recipe: rlvr train algorithm=dph divergence=js ...", add_help=False
    )
    p.set_defaults(func=_train, accepts_overrides=True)

    p = subparsers.add_parser(
        "sample-reference",
        help="sample the initial policy into a reference bank (same overrides as train)",
        add_help=False,
    )
    p.set_defaults(func=_sample_reference, accepts_overrides=True)

    p = subparsers.add_parser("model", help="model folders")
    sub = p.add_subparsers(dest="model_command", required=True)
    q = sub.add_parser("prepare", help="build a model folder (e.g. tiny-random, tiny-arith-v2, smollm2-135m)")
    q.add_argument("name")
    q.add_argument("--out", help="folder to write (default: <cache>/models/NAME)")
    q.set_defaults(func=_model_prepare)


def _train(args, rest: list[str]) -> int:
    """Hand the overrides to Hydra's own CLI (run dirs, --multirun sweeps, --cfg job, --help)."""
    import hydra

    from rlvr.config.load import RECIPES_DIR, register_verifier_choices, to_train_config

    register_verifier_choices()  # plugin verifiers as `verifier=NAME`

    @hydra.main(config_path=str(RECIPES_DIR), config_name="config", version_base="1.3")
    def run(cfg) -> None:
        from hydra.core.hydra_config import HydraConfig

        cfg.run_dir = HydraConfig.get().runtime.output_dir
        logs.configure_run_logging(cfg.run_dir, verbose=cfg.logger.verbose)
        if not cfg.logger.verbose:
            print(f"run dir {cfg.run_dir}  (engine logs: engines.log, train.log; --verbose prints them)")
        try:
            train(cfg)
        finally:
            logs.end_ray_job()  # a sweep's next job is a new Ray job, with its own engines.log

    def train(cfg) -> None:
        from rlvr.trainer.trainer import Trainer

        try:
            trainer = Trainer(to_train_config(cfg))
        except errors.USER_ERRORS as e:
            if errors.debug_enabled():
                raise
            failed.append(e)  # one line from `rlvr train`, not Hydra's traceback
            return
        try:
            trainer.run()
        except Preempted as e:
            preempted.append(e)  # not raised through Hydra, which reports any exception as exit 1
        except RolloutWorkerFailed as e:
            if errors.debug_enabled():
                raise
            lost.append(e)  # one line naming the checkpoint, not a traceback
        finally:
            trainer.close()

    from rlvr.cli import errors
    from rlvr.rollout.group import RolloutWorkerFailed
    from rlvr.tracking import logs
    from rlvr.trainer.checkpoint import PREEMPTED_EXIT_CODE, Preempted

    preempted: list[Preempted] = []
    failed: list[BaseException] = []
    lost: list[BaseException] = []
    argv = sys.argv
    sys.argv = ["rlvr train", *run_dir_overrides(rest)]
    try:
        run()
    finally:
        sys.argv = argv
    if failed:
        return errors.report("train", failed[0])
    if lost:
        print(f"rlvr train: error: {errors.message(lost[0])}", file=sys.stderr)
        return 1
    if preempted:
        print(f"rlvr train: {preempted[0]} (exit code {PREEMPTED_EXIT_CODE})", file=sys.stderr)
        return PREEMPTED_EXIT_CODE
    return 0


def run_dir_overrides(rest: list[str]) -> list[str]:
    """`run_dir=DIR` is where the run goes: Hydra's run dir (or sweep dir with --multirun), which
    the trainer writes to. Without this, Hydra's own `hydra.run.dir` would silently win."""
    multirun = any(a in ("--multirun", "-m") for a in rest)
    out = []
    for arg in rest:
        if arg.startswith("run_dir="):
            arg = ("hydra.sweep.dir=" if multirun else "hydra.run.dir=") + arg[len("run_dir=") :]
        out.append(arg)
    return out


def _sample_reference(args, rest: list[str]) -> int:
    from rlvr.bank.build import sample_reference
    from rlvr.config import compose_config

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    bank = sample_reference(compose_config(rest))
    stats = bank.manifest["stats"]
    print(
        f"bank {bank.path}: {len(bank)} samples; D_pef {stats['pef']} prompts, D_exp {stats['exp']} prompts, "
        f"sample accuracy {stats['sample_accuracy']:.3f}"
    )
    return 0


def _model_prepare(args, rest: list[str]) -> int:
    from pathlib import Path

    from rlvr.config import compose_config
    from rlvr.models.prepare import prepare_model

    out = Path(args.out) if args.out else Path(compose_config([]).cache_dir) / "models" / args.name
    print(prepare_model(args.name, out))
    return 0
