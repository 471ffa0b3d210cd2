"""`raekit` command line: one module per group of subcommands under raekit.commands."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import warnings

from raekit import notices
from raekit.errors import RaekitError, TrainingInterrupted


class Formatter(argparse.HelpFormatter):
    """Every option's default shown after its help (unless the help names it), and an
    "examples:" epilog kept line by line as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = action.default not in (None, [], argparse.SUPPRESS) and not isinstance(
            action.default, bool
        )
        if shown and not action.required and "default" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return "\n".join(indent + line for line in text.splitlines())
        return super()._fill_text(text, width, indent)


class Parser(argparse.ArgumentParser):
    """argparse with raekit's one-line errors (exit 2) instead of a usage block, and the
    defaults and examples shown in --help."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f"raekit: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    # imported on use: `raekit --help` loads none of this
    from raekit import __version__
    from raekit.commands import COMMAND_MODULES

    parser = Parser(
        prog="raekit",
        description="Regularized autoencoders, ex-post density estimation and evaluation",
    )
    parser.add_argument(
        "--version", action="version", version=f"raekit {__version__}", help="print the version"
    )
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
    if sys.stdout is sys.__stdout__ and sys.stdout is not None:
        sys.stdout = PipeSafe(sys.stdout)
    args = build_parser().parse_args(argv)
    from raekit.devices import use_device  # torch: only once a command runs, not for --help

    notices.hold()
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if on_main_thread else None
    try:
        with warnings.catch_warnings(), use_device(getattr(args, "device", None)):
            warnings.showwarning = _one_line_warning
            code = int(args.handler(args) or 0)
        notices.under_way()  # success: whatever was held is said now
        return code
    except RaekitError as exc:
        notices.discard()
        print(f"raekit: error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:  # the environment: a full disk, a read-only or missing folder
        notices.discard()
        print(f"raekit: error: {one_line(describe_os_error(exc))}", file=sys.stderr)
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
        notices.release()
        if on_main_thread:
            signal.signal(signal.SIGTERM, previous)


def describe_os_error(exc: OSError) -> str:
    where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
    return f"{where}{exc.strerror or exc}"


def one_line(text: str) -> str:
    return " ".join(text.split())


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings on one line, like every other raekit message (no source line under them), each
    once per process."""
    notices.warning(str(message))


class PipeSafe:
    """stdout that outlives its reader: after `raekit train ... | head -1` exits, the rest of the
    output goes to /dev/null instead of a BrokenPipeError ending the run mid-epoch."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_null()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_null()

    def _to_null(self) -> None:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, self._stream.fileno())
        os.close(null)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


if __name__ == "__main__":
    sys.exit(main())
