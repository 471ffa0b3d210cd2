"""Where raekit keeps downloaded datasets, weights and cached statistics."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from raekit.errors import RaekitError

T = TypeVar("T")


def cache_dir() -> Path:
    """$RAEKIT_CACHE, else $XDG_CACHE_HOME/raekit, else ~/.cache/raekit (created on demand)."""
    root = os.environ.get("RAEKIT_CACHE")
    where = "RAEKIT_CACHE"
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        root, where = Path(base) / "raekit", "the default cache folder"
    path = Path(root)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = "it is a file" if path.exists() else (exc.strerror or str(exc))
        raise RaekitError(
            f"cannot use {path} ({where}) as raekit's cache: {reason}; set RAEKIT_CACHE "
            f"to a writable folder"
        ) from None
    return path


def read_cached(
    path: Path, read: Callable[[Path], T], what: str, also: tuple[Path, ...] = ()
) -> T | None:
    """`read(path)` for a file raekit can rebuild; None when it is absent. A damaged file (any
    error while reading or checking it) is deleted, with `also`, after one warning, so the caller
    rebuilds it instead of failing on it forever."""
    if not path.is_file():
        return None
    try:
        return read(path)
    except Exception as exc:  # a cache entry is only data raekit made: whatever is wrong, remake it
        warnings.warn(
            f"{what} {path} is damaged ({exc.__class__.__name__}); deleted it, rebuilding",
            RuntimeWarning,
            stacklevel=2,
        )
        for stale in (path, *also):
            stale.unlink(missing_ok=True)
        return None
