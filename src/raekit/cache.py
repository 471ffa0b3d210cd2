"""Where raekit keeps downloaded datasets, weights and cached statistics."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """$RAEKIT_CACHE, else $XDG_CACHE_HOME/raekit, else ~/.cache/raekit (created on demand)."""
    root = os.environ.get("RAEKIT_CACHE")
    if root is None:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        root = Path(base) / "raekit"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path
