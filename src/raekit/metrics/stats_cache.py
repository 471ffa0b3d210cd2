"""Reference feature statistics cached as safetensors under cache_dir()/stats/<key>.safetensors."""
from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from raekit.atomic import atomic_path
from raekit.cache import cache_dir, read_cached
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

    def read(path) -> tuple[np.ndarray, np.ndarray]:
        stored = load_file(path)
        mu, sigma = stored["mu"], stored["sigma"]
        if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)) or not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
            raise ValueError(f"statistics of shapes {mu.shape} and {sigma.shape}")
        return mu, sigma

    stored = read_cached(path, read, "the cached statistics")
    if stored is not None:
        return stored
    mu, sigma = (np.ascontiguousarray(x, dtype=np.float64) for x in compute())
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise RaekitError(f"statistics for {key!r} have shapes {mu.shape} and {sigma.shape}; "
                          "expected (d,) and (d, d)")
    with atomic_path(path) as tmp:
        save_file({"mu": mu, "sigma": sigma}, tmp, metadata={"key": key})
    return mu, sigma
