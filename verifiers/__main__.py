"""`python -m verifiers {verify,serve,list}`: the verifier commands without rlvr installed."""

from __future__ import annotations

import argparse
import sys

from verifiers import cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verifiers")
    sub = parser.add_subparsers(dest="command", required=True)
    cli.add_verify_arguments(sub.add_parser("verify", help="verify JSONL rows"))
    cli.add_serve_arguments(sub.add_parser("serve", help="serve a verifier over HTTP"))
    sub.add_parser("list", help="list registered verifiers")
    args = parser.parse_args(argv)
    handler = {"verify": cli.run_verify, "serve": cli.run_serve, "list": cli.run_list}[args.command]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
