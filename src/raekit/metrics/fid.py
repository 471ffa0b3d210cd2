"""Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017).

FID = ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^{1/2}); everything runs in float64 because the
matrix square root of a 2048 x 2048 product loses digits fast in float32.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

from raekit.errors import RaekitError

# Largest |imag| tolerated on the diagonal of sqrtm(S1 S2): rounding noise, not a real mismatch.
IMAG_TOLERANCE = 1e-3
# Offset added to both covariances when their product is (near-)singular.
EPS = 1e-6


def _check_features(features, what: str) -> np.ndarray:
    arr = np.asarray(features, dtype=np.float64)
    if arr.ndim != 2:
        raise RaekitError(f"{what} must be a 2-D array (samples, dim), got shape {arr.shape}")
    if arr.shape[0] < 2:
        raise RaekitError(f"{what} needs at least 2 samples for a covariance, got {arr.shape[0]}")
    if not np.isfinite(arr).all():
        raise RaekitError(f"{what} contain NaN or Inf values")
    return arr


def feature_statistics(features, what: str = "features") -> tuple[np.ndarray, np.ndarray]:
    """Mean (dim,) and unbiased covariance (dim, dim) of `features` (N, dim), in float64."""
    arr = _check_features(features, what)
    n, dim = arr.shape
    if n < dim:
        warnings.warn(
            f"{what}: {n} samples for {dim} dimensions, so the covariance is singular; "
            "the Fréchet distance will be biased",
            RuntimeWarning,
            stacklevel=2,
        )
    return arr.mean(axis=0), np.atleast_2d(np.cov(arr, rowvar=False))


def _check_stats(mu1, sigma1, mu2, sigma2):
    mu1, mu2 = (
        np.atleast_1d(np.asarray(mu1, np.float64)),
        np.atleast_1d(np.asarray(mu2, np.float64)),
    )
    sigma1, sigma2 = (
        np.atleast_2d(np.asarray(sigma1, np.float64)),
        np.atleast_2d(np.asarray(sigma2, np.float64)),
    )
    if mu1.ndim != 1 or mu1.shape != mu2.shape:
        raise RaekitError(
            f"mean vectors must be 1-D of equal length, got {mu1.shape} and {mu2.shape}"
        )
    dim = mu1.shape[0]
    for name, s in (("first", sigma1), ("second", sigma2)):
        if s.shape != (dim, dim):
            raise RaekitError(f"the {name} covariance has shape {s.shape}, expected ({dim}, {dim})")
    for name, x in (("mu1", mu1), ("sigma1", sigma1), ("mu2", mu2), ("sigma2", sigma2)):
        if not np.isfinite(x).all():
            raise RaekitError(f"statistic {name} contains NaN or Inf values")
    return mu1, sigma1, mu2, sigma2


def _sqrtm_checked(matrix: np.ndarray) -> np.ndarray | None:
    """sqrtm, or None when scipy flags the matrix as singular or returns non-finite values."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", linalg.LinAlgWarning)
        try:
            root = linalg.sqrtm(matrix)
        except linalg.LinAlgWarning:
            return None
    return root if np.isfinite(root).all() else None


def _sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
    """(S1 S2)^{1/2}; a (near-)singular product is first regularised with eps * I on both factors."""
    root = _sqrtm_checked(sigma1 @ sigma2)
    if root is None:
        offset = np.eye(sigma1.shape[0]) * EPS
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            root = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if not np.isfinite(root).all():
        raise RaekitError(
            "the covariance product has no finite square root even after regularisation"
        )
    return root


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    mu1, sigma1, mu2, sigma2 = _check_stats(mu1, sigma1, mu2, sigma2)
    diff = mu1 - mu2
    covmean = _sqrt_product(sigma1, sigma2)
    if np.iscomplexobj(covmean):
        worst = np.max(np.abs(np.diagonal(covmean).imag))
        if worst > IMAG_TOLERANCE:
            raise RaekitError(
                f"the covariance square root has an imaginary component of {worst:.3g} "
                f"(tolerance {IMAG_TOLERANCE}); the statistics are ill-conditioned, use more samples"
            )
        covmean = covmean.real
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean)
    return float(value)


def frechet_distance(features_a, features_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N_a, dim) and (N_b, dim)."""
    a = _check_features(features_a, "first features")
    b = _check_features(features_b, "second features")
    if a.shape[1] != b.shape[1]:
        raise RaekitError(f"feature dimensions differ: {a.shape[1]} vs {b.shape[1]}")
    return frechet_distance_from_stats(
        *feature_statistics(a, "first features"), *feature_statistics(b, "second features")
    )
