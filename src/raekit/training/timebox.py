"""Calls that may hang on the network (a tracking server that does not answer) run with a time
limit: past it the caller goes on and the call is left to finish, or not, in a daemon thread."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

DEFAULT_SECONDS = 5.0  # RAEKIT_TRACK_TIMEOUT overrides it


class TimedOut(Exception):
    """The call did not return within its time limit."""


def limit_seconds() -> float:
    try:
        return max(0.1, float(os.environ.get("RAEKIT_TRACK_TIMEOUT", DEFAULT_SECONDS)))
    except ValueError:
        return DEFAULT_SECONDS


def call(function: Callable[..., Any], *args: Any, seconds: float | None = None) -> Any:
    """function(*args), or TimedOut after `seconds`; its own exception is raised here."""
    seconds = limit_seconds() if seconds is None else seconds
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function(*args)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, name="raekit-tracking", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimedOut(f"no answer within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
