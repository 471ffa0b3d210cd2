"""Progress of long steps: a tqdm bar on a terminal; in a log or pipe, a plain line every ~10 s.

Steps shorter than the interval print nothing on a non-terminal, so short commands and tests stay
quiet while a long run's log shows life (rate and estimated time left on each line). Under
torchrun only rank 0 reports; RAEKIT_PROGRESS=0 silences every bar.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TypeVar

from tqdm import tqdm

INTERVAL = 10.0  # seconds between lines on a non-terminal
T = TypeVar("T")


class _Lines:
    """A stream for tqdm that turns its carriage-return redraws into separate lines."""

    def __init__(self, stream):
        self.stream, self.last = stream, None

    def write(self, text: str) -> None:
        text = text.replace("\r", "").strip()
        state = text.split(" [")[0]  # tqdm redraws the final count on close: one line is enough
        if text and state != self.last:
            self.stream.write(text + "\n")
            self.last = state

    def flush(self) -> None:
        self.stream.flush()


def default_enabled() -> bool:
    if os.environ.get("RAEKIT_PROGRESS", "1").lower() in ("0", "false", "off", "no"):
        return False
    return os.environ.get("RANK", "0") == "0"


def progress(
    iterable: Iterable[T] | None = None,
    *,
    desc: str,
    total: int | None = None,
    unit: str = "it",
    enabled: bool | None = None,
    stream=None,
) -> tqdm:
    """tqdm over `iterable` (or a manual bar with `total`); see the module docstring."""
    stream = stream or sys.stderr
    disable = not (default_enabled() if enabled is None else enabled)
    if _is_terminal(stream):
        return tqdm(
            iterable,
            desc=desc,
            total=total,
            unit=unit,
            leave=False,
            file=stream,
            disable=disable,
            dynamic_ncols=True,
        )
    return tqdm(
        iterable,
        desc=desc,
        total=total,
        unit=unit,
        leave=True,
        file=_Lines(stream),
        disable=disable,
        mininterval=INTERVAL,
        maxinterval=INTERVAL,
        delay=INTERVAL,
        ascii=True,
        ncols=90,
    )


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
