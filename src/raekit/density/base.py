"""The density contract (scikit-learn's): fit(codes) -> self, sample(n, seed), score_samples(codes)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from raekit.errors import RaekitError


def as_codes(codes, d: int | None = None, what: str = "codes") -> np.ndarray:
    """float64 (N, d) codes, finite; a clear error otherwise."""
    array = np.asarray(codes, dtype=np.float64)
    if not array.flags.writeable:  # a memory map or a frozen array: torch wants writable memory
        array = array.copy()
    if array.ndim != 2 or array.shape[0] == 0:
        raise RaekitError(f"{what} must be a non-empty (N, d) array, got shape {array.shape}")
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        raise RaekitError(
            f"{what} hold {int(bad.sum())} rows with NaN or Inf (first: row {int(np.argmax(bad))})"
        )
    if d is not None and array.shape[1] != d:
        raise RaekitError(f"{what} have {array.shape[1]} dimensions, the density was fitted on {d}")
    return array


class Density:
    """Base class: subclasses set `kind` and implement _fit, _sample, _score, and for saving,
    state() (arrays) and load_state(arrays, d) (raekit.density.io writes and reads them)."""

    kind = "density"
    fits_on_validation = False  # fit(codes, valid_codes) tunes itself on validation codes
    options: dict

    def fit(self, codes) -> Density:
        codes = as_codes(codes)
        self.n_features_in_ = codes.shape[1]
        self._fit(codes)
        return self

    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        self._check_fitted()
        if int(n) < 1:
            raise RaekitError(f"number of samples must be at least 1, got {n}")
        return self._sample(int(n), np.random.default_rng(seed))

    def score_samples(self, codes) -> np.ndarray:
        self._check_fitted()
        return self._score(as_codes(codes, self.n_features_in_))

    def score(self, codes) -> float:
        """Mean log-likelihood per code."""
        return float(np.mean(self.score_samples(codes)))

    def state(self) -> dict[str, np.ndarray]:
        inner = type(getattr(self, "estimator", self)).__name__
        raise RaekitError(
            f"a wrapped {inner} cannot be saved (raekit stores arrays, never pickles); "
            "keep it in memory or use a built-in kind such as 'gmm'"
        )

    def load_state(self, arrays: dict[str, np.ndarray], d: int) -> None:
        raise RaekitError(f"the {self.kind} density cannot be loaded from arrays")

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_features_in_"):
            raise RaekitError(f"the {self.kind} density is not fitted yet")


def gaussian_logpdf(x: np.ndarray, mean: np.ndarray, cov_cholesky: np.ndarray) -> np.ndarray:
    """log N(x; mean, L L^T) for each row of x."""
    # slow to import; only this path needs it
    from scipy.linalg import solve_triangular

    d = x.shape[1]
    y = solve_triangular(cov_cholesky, (x - mean).T, lower=True)
    return -0.5 * (y**2).sum(0) - np.log(np.diag(cov_cholesky)).sum() - 0.5 * d * np.log(2 * np.pi)


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run a block with `n` torch threads (None: unchanged), then restore the previous count.

    Small MLPs trained on small batches are latency-bound: extra threads only add synchronisation,
    and on a shared machine they can make a fit tens of times slower.
    """
    # slow to import; only this path needs it
    import torch

    previous = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
