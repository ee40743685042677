"""`rlvr eval` (Pass@k of a model or checkpoint, with intervals) and `rlvr report` (runs compared)."""

from __future__ import annotations


def add_parsers(subparsers) -> None:
    p = subparsers.add_parser(
        "eval",
        help="Pass@k curve (k=1..n), greedy accuracy and diversity of a model; "
        "extra key=value arguments are recipe overrides (data=..., eval.n=64, ...)",
    )
    p.add_argument("--model", help="model folder or a run's final/ folder (default: the recipe's model)")
    p.add_argument(
        "--run-dir", required=True, help="writes RUN_DIR/eval/step_NNNNNN.json (read by `rlvr report`)"
    )
    p.add_argument("--step", type=int, default=0, help="step number to file the evaluation under")
    p.set_defaults(func=_eval, accepts_overrides=True)

    p = subparsers.add_parser(
        "report",
        help="one HTML page (and PNG) of the Pass@k curves of runs, seeds grouped, with 95%% bootstrap "
        "intervals and paired differences",
    )
    p.add_argument(
        "run_dirs", nargs="+", help="run directories; runs whose configs differ only by seed form one line"
    )
    p.add_argument("--out", default="report.html")
    p.add_argument("--title", default="rlvr: Pass@k")
    p.add_argument(
        "--baseline",
        metavar="NAME",
        help="list every line minus NAME (a label of the report's table, e.g. grpo or 'base model'; "
        "default: the base model when the runs evaluated one)",
    )
    p.add_argument(
        "--compare",
        nargs=2,
        action="append",
        metavar=("A", "B"),
        help="list A minus B (repeatable); paired over the test problems both were evaluated on",
    )
    p.add_argument("--markdown", metavar="FILE", help="also write the report's tables as Markdown to FILE")
    p.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples of the problems")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling")
    p.set_defaults(func=_report)


def _eval(args, rest: list[str]) -> int:
    from pathlib import Path

    from rlvr.config import compose_config
    from rlvr.eval.run import evaluate_model, print_table

    cfg = compose_config(rest)
    result = evaluate_model(cfg, model_path=args.model, run_dir=Path(args.run_dir), step=args.step)
    print_table({Path(args.model or cfg.model.path).name: result})
    return 0


def _report(args, rest: list[str]) -> int:
    from rlvr.eval.report import write_report

    out = write_report(
        args.run_dirs,
        args.out,
        title=args.title,
        baseline=args.baseline,
        pairs=[tuple(p) for p in args.compare or []],
        resamples=args.resamples,
        seed=args.seed,
        markdown=args.markdown,
    )
    print(f"wrote {out} and {out.with_suffix('.png')}" + (f" and {args.markdown}" if args.markdown else ""))
    return 0
