"""The prior N(0, I) and a full-covariance Gaussian with fitted mean (Table 1's "N" column)."""

from __future__ import annotations

import numpy as np

from raekit.density.base import Density, gaussian_logpdf
from raekit.errors import RaekitError


class PriorDensity(Density):
    """N(0, I): the VAE's and WAE's fixed prior; fitting only records the dimension."""

    kind = "prior"

    def __init__(self):
        self.options = {}

    def _fit(self, codes):
        """Nothing to learn: the dimension is recorded by Density.fit."""

    def _sample(self, n, rng):
        return rng.standard_normal((n, self.n_features_in_))

    def _score(self, codes):
        d = codes.shape[1]
        return -0.5 * (codes**2).sum(1) - 0.5 * d * np.log(2 * np.pi)

    def state(self) -> dict[str, np.ndarray]:
        return {}

    def load_state(self, arrays, d: int) -> None:
        self.n_features_in_ = d


class GaussianDensity(Density):
    """Full covariance (maximum likelihood, divisor N) with fitted mean: Table 1's "N" for AE/RAE/CV-VAE.

    If the covariance is singular to working precision (smallest eigenvalue <= 1e-10 x the largest:
    codes in a subspace), a ridge of 1e-9 x the mean variance is added to its diagonal so the density
    stays proper; `ridge_` records it (0.0 when none was needed).
    """

    kind = "gaussian"

    def __init__(self):
        self.options = {}

    def _fit(self, codes):
        n, d = codes.shape
        if n < d + 1:
            raise RaekitError(
                f"a full-covariance Gaussian in {d} dimensions needs at least {d + 1} codes, got {n}"
            )
        self.mean_ = codes.mean(0)
        centred = codes - self.mean_
        covariance = centred.T @ centred / n
        eigenvalues = np.linalg.eigvalsh(covariance)
        if eigenvalues[-1] <= 0:
            raise RaekitError(f"all {n} codes are equal: a Gaussian cannot be fitted to them")
        singular = eigenvalues[0] <= 1e-10 * eigenvalues[-1]
        self.ridge_ = 1e-9 * float(np.trace(covariance)) / d if singular else 0.0
        self.covariance_ = covariance + self.ridge_ * np.eye(d)
        self._factor()

    def _factor(self):
        self.cholesky_ = np.linalg.cholesky(self.covariance_)

    def _sample(self, n, rng):
        return self.mean_ + rng.standard_normal((n, len(self.mean_))) @ self.cholesky_.T

    def _score(self, codes):
        return gaussian_logpdf(codes, self.mean_, self.cholesky_)

    def state(self):
        return {
            "mean": self.mean_,
            "covariance": self.covariance_,
            "ridge": np.array([self.ridge_]),
        }

    def load_state(self, arrays, d: int) -> None:
        self.n_features_in_, self.mean_, self.covariance_ = d, arrays["mean"], arrays["covariance"]
        self.ridge_ = float(arrays.get("ridge", np.zeros(1))[0])
        self._factor()
