"""The `rlvr` command line. Each subcommand lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Modules each holding `add_parsers(subparsers)`, which adds its subcommands with `set_defaults(func=...)`.
# Keep their top-level imports light: every `rlvr` invocation imports all of them.
SUBCOMMAND_MODULES: list[str] = [
    "rlvr.cli.train",
    "rlvr.cli.eval",
    "rlvr.cli.verify",
    "rlvr.cli.submit",
    "rlvr.cli.plan",
]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="rlvr", description=__doc__)
    parser.add_argument(
        "--debug", action="store_true", help="show Python tracebacks of user errors (bad data, config, files)"
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="engine (vLLM, DeepSpeed) and Ray logs on the console too, not only in the run dir's "
        "engines.log and train.log (the override logger.verbose=true); also after the command",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMAND_MODULES:
        importlib.import_module(module).add_parsers(subparsers)
    args, rest = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "accepts_overrides", False) and ("--verbose" in rest or args.verbose):
        rest = [a for a in rest if a != "--verbose"] + ["logger.verbose=true"]  # `rlvr train --verbose`
    if rest and not getattr(args, "accepts_overrides", False):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    from rlvr.cli import errors

    if args.debug:
        os.environ["RLVR_DEBUG"] = "1"
    try:
        return int(args.func(args, rest) or 0)
    except errors.USER_ERRORS as e:
        if errors.debug_enabled():
            raise
        return errors.report(args.command, e)
