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
        pass

    def _sample(self, n, rng):
        return rng.standard_normal((n, self.n_features_in_))

    def _score(self, codes):
        d = codes.shape[1]
        return -0.5 * (codes ** 2).sum(1) - 0.5 * d * np.log(2 * np.pi)

    def state(self) -> dict[str, np.ndarray]:
        return {}

    def load_state(self, arrays, d: int) -> None:
        self.n_features_in_ = d


class GaussianDensity(Density):
    """Full covariance (maximum likelihood) with fitted mean."""
    kind = "gaussian"

    def __init__(self):
        self.options = {}

    def _fit(self, codes):
        n, d = codes.shape
        if n < d + 1:
            raise RaekitError(f"a full-covariance Gaussian in {d} dimensions needs at least {d + 1} codes, got {n}")
        self.mean_ = codes.mean(0)
        self.covariance_ = np.cov(codes, rowvar=False, bias=True).reshape(d, d)
        self._factor()

    def _factor(self):
        try:
            self.cholesky_ = np.linalg.cholesky(self.covariance_)
        except np.linalg.LinAlgError:
            raise RaekitError("the codes' covariance is singular (codes lie in a subspace); "
                              "use the gmm density, which regularises its covariances") from None

    def _sample(self, n, rng):
        return self.mean_ + rng.standard_normal((n, len(self.mean_))) @ self.cholesky_.T

    def _score(self, codes):
        return gaussian_logpdf(codes, self.mean_, self.cholesky_)

    def state(self):
        return {"mean": self.mean_, "covariance": self.covariance_}

    def load_state(self, arrays, d: int) -> None:
        self.n_features_in_, self.mean_, self.covariance_ = d, arrays["mean"], arrays["covariance"]
        self._factor()
