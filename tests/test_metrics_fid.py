"""Fréchet distance against closed forms computed independently, its guards."""

import warnings

import numpy as np
import pytest

from raekit.errors import RaekitError
from raekit.metrics import (
    feature_statistics,
    frechet_distance,
    frechet_distance_from_stats,
)
from raekit.metrics.fid import trace_sqrt_product


def _random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


def _closed_form_eigh(mu1, s1, mu2, s2):
    """tr (S1 S2)^{1/2} = tr (S1^{1/2} S2 S1^{1/2})^{1/2}, the latter symmetric: eigen-decompose it."""
    w, v = np.linalg.eigh(s1)
    s1_half = v @ np.diag(np.sqrt(w)) @ v.T
    inner = np.linalg.eigvalsh(s1_half @ s2 @ s1_half)
    return np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.sum(np.sqrt(inner))


def test_diagonal_covariances_match_elementwise_formula(rng):
    a, b = rng.uniform(0.1, 3, 6), rng.uniform(0.1, 3, 6)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance_from_stats(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(
        expected, rel=1e-10
    )


def test_general_covariances_match_eigen_decomposition(rng):
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    s1, s2 = _random_spd(rng, 5), _random_spd(rng, 5)
    expected = _closed_form_eigh(mu1, s1, mu2, s2)
    assert frechet_distance_from_stats(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)


def test_feature_statistics_by_hand(rng):
    x = rng.normal(size=(40, 3)) * [1, 2, 3] + [5, -1, 0]
    mu, sigma = feature_statistics(x)
    centred = x - x.sum(axis=0) / 40
    assert mu.dtype == np.float64 and sigma.dtype == np.float64
    np.testing.assert_allclose(mu, x.sum(axis=0) / 40, rtol=1e-12)
    np.testing.assert_allclose(sigma, centred.T @ centred / 39, rtol=1e-12)


def test_features_distance_equals_closed_form_of_their_statistics(rng):
    a = rng.normal(size=(300, 4))
    b = rng.normal(size=(250, 4)) @ rng.normal(size=(4, 4)) + 1.5
    mu1, s1 = a.mean(0), np.cov(a, rowvar=False)
    mu2, s2 = b.mean(0), np.cov(b, rowvar=False)
    assert frechet_distance(a, b) == pytest.approx(_closed_form_eigh(mu1, s1, mu2, s2), rel=1e-8)


def test_identical_sets_give_zero(rng):
    a = rng.normal(size=(200, 8))
    assert abs(frechet_distance(a, a.copy())) < 1e-8


def test_singular_covariances_need_no_offset():
    # Rank-deficient covariances: tr (S1 S2)^{1/2} = sqrt(1 x 4) exactly, so the distance is 1.
    value = frechet_distance_from_stats(
        np.zeros(2), np.diag([1.0, 0.0]), np.zeros(2), np.diag([4.0, 0.0])
    )
    assert value == pytest.approx(1.0, rel=1e-12)


def test_equals_pytorch_fids_general_matrix_square_root(rng):
    """pytorch-fid's procedure (scipy's sqrtm of the product, the real part of its trace) on
    covariances of 300 samples in 64 dimensions, one of them far from the other."""
    from scipy import linalg

    a = rng.normal(size=(300, 64)) @ rng.normal(size=(64, 64))
    b = rng.normal(size=(300, 64)) * rng.uniform(0.1, 3, 64) + 0.3
    (mu1, s1), (mu2, s2) = feature_statistics(a), feature_statistics(b)
    covmean = linalg.sqrtm(s1 @ s2).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)
    assert frechet_distance_from_stats(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_trace_of_the_root_is_the_nuclear_norm_of_cholesky_factors(rng):
    # S = L L^T: S1 S2 has the eigenvalues of (L1^T L2)(L1^T L2)^T, so tr (S1 S2)^{1/2} = ||L1^T L2||_*.
    s1, s2 = _random_spd(rng, 7), _random_spd(rng, 7)
    l1, l2 = np.linalg.cholesky(s1), np.linalg.cholesky(s2)
    expected = np.linalg.svd(l1.T @ l2, compute_uv=False).sum()
    assert trace_sqrt_product(s1, s2) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize(
    "sigma1, sigma2, match",
    [
        (np.diag([1.0, -1.0]), np.eye(2), "first covariance is not positive semi-definite"),
        (np.eye(2), np.diag([1.0, -1.0]), "product is not positive semi-definite"),
        (np.array([[1.0, 0.5], [0.0, 1.0]]), np.eye(2), "first covariance is not symmetric"),
    ],
)
def test_matrices_that_are_not_covariances_are_errors(sigma1, sigma2, match):
    with pytest.raises(RaekitError, match=match):
        frechet_distance_from_stats(np.zeros(2), sigma1, np.zeros(2), sigma2)


def test_fewer_samples_than_dimensions_warns(rng):
    with pytest.warns(RuntimeWarning, match="singular"):
        feature_statistics(rng.normal(size=(5, 10)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        feature_statistics(rng.normal(size=(20, 10)))


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), "NaN or Inf"),
        (np.array([[0.0, np.inf], [1.0, 2.0], [3.0, 4.0]]), "NaN or Inf"),
        (np.zeros(5), "2-D"),
        (np.zeros((1, 2)), "at least 2 samples"),
    ],
)
def test_bad_features_are_errors(bad, match):
    with pytest.raises(RaekitError, match=match):
        frechet_distance(bad, np.random.default_rng(0).normal(size=(10, 2)))


def test_mismatched_dimensions_are_errors(rng):
    with pytest.raises(RaekitError, match="dimensions differ"):
        frechet_distance(rng.normal(size=(10, 3)), rng.normal(size=(10, 4)))
    with pytest.raises(RaekitError, match="mean vectors"):
        frechet_distance_from_stats(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(RaekitError, match="covariance has shape"):
        frechet_distance_from_stats(np.zeros(3), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(RaekitError, match="NaN or Inf"):
        frechet_distance_from_stats(np.zeros(2), np.eye(2), np.array([0, np.nan]), np.eye(2))
