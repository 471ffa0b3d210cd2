"""One exception type for every user mistake; the CLI prints it as one line and exits 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RaekitError(Exception):
    """A problem with the user's input, files or environment (never a bug in raekit)."""


def unknown(kind: str, name: str, choices: Iterable[str]) -> RaekitError:
    """An error for an unknown name, with a 'did you mean' suggestion when one is close."""
    choices = sorted(choices)
    close = difflib.get_close_matches(str(name), choices, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return RaekitError(f"unknown {kind} {name!r}{hint} (choices: {', '.join(choices)})")
