"""One exception type for every user mistake, which the CLI prints as one line and exits 2; and
the interruption of training by a signal, which exits 130 (SIGINT) or 143 (SIGTERM)."""

from __future__ import annotations

import difflib
import signal
from collections.abc import Iterable
from pathlib import Path

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class RaekitError(Exception):
    """A problem with the user's input, files or environment (never a bug in raekit)."""


def unknown(kind: str, name: str, choices: Iterable[str]) -> RaekitError:
    """An error for an unknown name, with a 'did you mean' suggestion when one is close."""
    choices = sorted(choices)
    close = difflib.get_close_matches(str(name), choices, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return RaekitError(f"unknown {kind} {name!r}{hint} (choices: {', '.join(choices)})")


class TrainingInterrupted(Exception):
    """Raised after the final checkpoint when a signal stopped training; carries the exit code."""

    def __init__(self, signum: int, run_dir: Path):
        self.exit_code = EXIT_CODES.get(signum, 128 + int(signum))
        super().__init__(
            f"interrupted by {signal.Signals(signum).name}; resume with "
            f"`raekit train --out {run_dir} --resume`"
        )
