"""`rlvr eval` (Pass@k of a model or checkpoint) and `rlvr report` (HTML overlay of runs)."""

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

    p = subparsers.add_parser("report", help="one HTML page (and PNG) overlaying the Pass@k curves of runs")
    p.add_argument("run_dirs", nargs="+")
    p.add_argument("--out", default="report.html")
    p.add_argument("--title", default="rlvr: Pass@k")
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

    out = write_report(args.run_dirs, args.out, title=args.title)
    print(f"wrote {out} and {out.with_suffix('.png')}")
    return 0
