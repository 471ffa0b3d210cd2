"""Reference feature statistics cached as safetensors under cache_dir()/stats/<key>.safetensors."""
from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from raekit.atomic import atomic_path
from raekit.cache import cache_dir
from raekit.errors import RaekitError

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=+-]*$")


def stats_path(key: str):
    if not _KEY.match(key or ""):
        raise RaekitError(f"invalid statistics cache key {key!r}: use letters, digits and . _ = + - only")
    return cache_dir() / "stats" / f"{key}.safetensors"


def cached_reference_statistics(key: str, compute: Callable[[], tuple]) -> tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) stored under `key`; `compute()` -> (mu, sigma) runs only when none is stored.

    The key must name everything the statistics depend on (dataset, split, extractor, count).
    """
    from safetensors.numpy import load_file, save_file
    path = stats_path(key)
    if path.is_file():
        stored = load_file(path)
        return stored["mu"], stored["sigma"]
    mu, sigma = (np.ascontiguousarray(x, dtype=np.float64) for x in compute())
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise RaekitError(f"statistics for {key!r} have shapes {mu.shape} and {sigma.shape}; "
                          "expected (d,) and (d, d)")
    with atomic_path(path) as tmp:
        save_file({"mu": mu, "sigma": sigma}, tmp, metadata={"key": key})
    return mu, sigma
