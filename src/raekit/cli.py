"""`raekit` command line: one module per group of subcommands under raekit.commands."""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from raekit.errors import RaekitError


def build_parser() -> argparse.ArgumentParser:
    from raekit.commands import COMMAND_MODULES

    parser = argparse.ArgumentParser(
        prog="raekit", description="Regularized autoencoders, ex-post density estimation and evaluation")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


class Terminated(BaseException):
    """SIGTERM outside training: unwinds like Ctrl-C, so every `finally` and context manager runs
    (temporary files and folders go, locks are released). A BaseException, so no `except
    Exception` along the way can swallow it. Training installs its own handler (a checkpoint first)."""


def _terminate(signum, frame):
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    from raekit.train import TrainingInterrupted

    args = build_parser().parse_args(argv)
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if on_main_thread else None
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
    except Terminated:
        print("raekit: terminated", file=sys.stderr)
        return 143
    finally:
        if on_main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
