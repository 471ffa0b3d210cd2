"""A k-component, full-covariance Gaussian mixture fitted by EM (scikit-learn's GaussianMixture).

The paper fits 10 components with at most 100 EM iterations. Fitted parameters are kept as plain
arrays, so they save to safetensors and sample with a seeded numpy generator.
"""
from __future__ import annotations

import numpy as np

from raekit.density.base import Density, gaussian_logpdf
from raekit.errors import RaekitError


class GMMDensity(Density):
    kind = "gmm"

    def __init__(self, components: int = 10, max_iter: int = 100, tol: float = 1e-3, reg_covar: float = 1e-6,
                 init: str = "kmeans", seed: int = 0):
        if int(components) < 1:
            raise RaekitError(f"a GMM needs at least 1 component, got {components}")
        self.options = dict(components=int(components), max_iter=int(max_iter), tol=float(tol),
                            reg_covar=float(reg_covar), init=init, seed=int(seed))

    def _mixture(self):
        from sklearn.mixture import GaussianMixture
        o = self.options
        return GaussianMixture(o["components"], covariance_type="full", max_iter=o["max_iter"], tol=o["tol"],
                               reg_covar=o["reg_covar"], init_params=o["init"], random_state=o["seed"])

    def _fit(self, codes):
        k = self.options["components"]
        if len(codes) < k:
            raise RaekitError(f"{len(codes)} codes are fewer than the {k} GMM components")
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            mixture = self._mixture().fit(codes)
        self.converged_, self.n_iter_ = bool(mixture.converged_), int(mixture.n_iter_)
        self.weights_, self.means_, self.covariances_ = mixture.weights_, mixture.means_, mixture.covariances_
        self._factor()
        del caught  # not converging within max_iter is the paper's setting, not an error

    def _factor(self):
        self.cholesky_ = np.linalg.cholesky(self.covariances_)

    def _sample(self, n, rng):
        counts = rng.multinomial(n, self.weights_ / self.weights_.sum())
        parts = [m + rng.standard_normal((c, len(m))) @ l.T for m, l, c in zip(self.means_, self.cholesky_, counts)]
        samples = np.concatenate(parts)
        return samples[rng.permutation(n)]

    def _score(self, codes):
        from scipy.special import logsumexp
        per_component = np.stack([np.log(w) + gaussian_logpdf(codes, m, l)
                                  for w, m, l in zip(self.weights_, self.means_, self.cholesky_)], axis=1)
        return logsumexp(per_component, axis=1)

    def state(self):
        return {"weights": self.weights_, "means": self.means_, "covariances": self.covariances_}

    def load_state(self, arrays, d: int) -> None:
        self.n_features_in_ = d
        self.weights_, self.means_, self.covariances_ = arrays["weights"], arrays["means"], arrays["covariances"]
        self._factor()
