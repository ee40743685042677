"""`rlvr verify` (score JSONL rows with a verifier) and `rlvr verifier {serve,list}`.

The work lives in `verifiers.cli` (importable without rlvr); this module only registers subcommands.
"""

from __future__ import annotations

import argparse
from typing import Any

from verifiers import cli


def _verify(args: argparse.Namespace, rest: list[str]) -> int:
    return cli.run_verify(args)


def _serve(args: argparse.Namespace, rest: list[str]) -> int:
    return cli.run_serve(args)


def _list(args: argparse.Namespace, rest: list[str]) -> int:
    return cli.run_list(args)


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "verify",
        help="verify JSONL rows {response, reference, metadata}",
        description=cli.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cli.add_verify_arguments(p)
    p.set_defaults(func=_verify)

    group = subparsers.add_parser("verifier", help="verifier services: serve, list")
    sub = group.add_subparsers(dest="verifier_command", metavar="ACTION", required=True)
    serve = sub.add_parser("serve", help="serve a verifier over HTTP (FastAPI + uvicorn)")
    cli.add_serve_arguments(serve)
    serve.set_defaults(func=_serve)
    sub.add_parser("list", help="list registered verifier names").set_defaults(func=_list)
