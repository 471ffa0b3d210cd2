"""Notes and warnings on stderr ("raekit: ...", "raekit: warning: ...").

In the CLI they never turn a one-problem error into several lines: until the work is under way
(`under_way()`, or the command's success) they are held, and a command that fails drops them and
prints its one error line. There each is said once per process. Used as a library, raekit prints
them at once.
"""

from __future__ import annotations

import sys

_state = {"holding": False, "dedupe": False}
_pending: list[str] = []
_said: set[str] = set()


def note(text: str) -> None:
    """One line of information (a fallback, where data came from)."""
    line = f"raekit: {' '.join(str(text).split())}"
    if _state["dedupe"]:
        if line in _said:
            return
        _said.add(line)
    if _state["holding"]:
        _pending.append(line)
    else:
        print(line, file=sys.stderr, flush=True)


def warning(text: str) -> None:
    note(f"warning: {text}")


def hold() -> None:
    """The CLI: hold notes until the work is under way; say each one once."""
    _state.update(holding=True, dedupe=True)


def under_way() -> None:
    """Arguments and inputs are checked and the real work starts: held notes print now."""
    _state["holding"] = False
    for line in _pending:
        print(line, file=sys.stderr, flush=True)
    _pending.clear()


def discard() -> None:
    """The command failed: its one error line says what matters."""
    _pending.clear()


def release() -> None:
    """The command is over: back to printing at once (raekit used as a library in this process)."""
    _state.update(holding=False, dedupe=False)
    _pending.clear()
    _said.clear()
