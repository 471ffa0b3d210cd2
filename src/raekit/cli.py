"""`raekit` command line: one module per group of subcommands under raekit.commands."""
from __future__ import annotations

import argparse
import sys

from raekit.errors import RaekitError


def build_parser() -> argparse.ArgumentParser:
    from raekit.commands import COMMAND_MODULES

    parser = argparse.ArgumentParser(
        prog="raekit", description="Regularized autoencoders, ex-post density estimation and evaluation")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from raekit.train import TrainingInterrupted

    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except RaekitError as exc:
        print(f"raekit: error: {exc}", file=sys.stderr)
        return 2
    except TrainingInterrupted as exc:
        print(f"raekit: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("raekit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
