"""More ex-post densities: Gaussian KDE and the Bayesian (Dirichlet-process) GMM."""

from __future__ import annotations

import warnings

import numpy as np

from raekit.density.base import Density, as_codes
from raekit.density.gmm import GMMDensity
from raekit.errors import RaekitError


class KDEDensity(Density):
    """Gaussian kernel density; the bandwidth maximises the validation codes' log-likelihood.

    Codes are whitened per dimension first, so one bandwidth fits every dimension. Without
    validation codes, 20% of the training codes are held out to choose it.
    """

    kind = "kde"
    fits_on_validation = True  # the bandwidth is chosen on validation codes

    def __init__(self, bandwidths=None, seed: int = 0):
        grid = list(np.geomspace(0.02, 2.0, 12)) if bandwidths is None else list(bandwidths)
        self.options = {"bandwidths": [float(b) for b in grid], "seed": int(seed)}
        self._valid = None

    def fit(self, codes, valid_codes=None) -> KDEDensity:
        self._valid = None if valid_codes is None else as_codes(valid_codes)
        return super().fit(codes)

    def _fit(self, codes):
        if len(codes) < 5:
            raise RaekitError(f"a kernel density needs at least 5 codes, got {len(codes)}")
        valid = self._valid
        if valid is None:
            order = np.random.default_rng(self.options["seed"]).permutation(len(codes))
            valid, codes_fit = codes[order[: len(codes) // 5]], codes[order[len(codes) // 5 :]]
        else:
            codes_fit = codes
        self.shift_, self.scale_ = codes.mean(0), codes.std(0) + 1e-12
        scores = [self._loglik(codes_fit, valid, b).mean() for b in self.options["bandwidths"]]
        self.bandwidth_ = self.options["bandwidths"][int(np.argmax(scores))]
        self.codes_ = codes

    def _loglik(self, reference, codes, bandwidth):
        # slow to import; only this path needs it
        from sklearn.neighbors import KernelDensity

        kde = KernelDensity(bandwidth=bandwidth).fit((reference - self.shift_) / self.scale_)
        return kde.score_samples((codes - self.shift_) / self.scale_) - np.log(self.scale_).sum()

    def _sample(self, n, rng):
        picks = self.codes_[rng.integers(0, len(self.codes_), n)]
        return picks + rng.standard_normal(picks.shape) * self.bandwidth_ * self.scale_

    def _score(self, codes):
        return self._loglik(self.codes_, codes, self.bandwidth_)

    def state(self):
        return {
            "codes": self.codes_,
            "shift": self.shift_,
            "scale": self.scale_,
            "bandwidth": np.array([self.bandwidth_]),
        }

    def load_state(self, arrays, d: int) -> None:
        self.n_features_in_, self.codes_ = d, arrays["codes"]
        self.shift_, self.scale_, self.bandwidth_ = (
            arrays["shift"],
            arrays["scale"],
            float(arrays["bandwidth"][0]),
        )


class BayesGMMDensity(GMMDensity):
    """scikit-learn's BayesianGaussianMixture (Dirichlet-process prior on the weights): unused
    components shrink towards zero weight, so `components` is an upper bound. Sampling, scoring
    and saving are the GMM's, from the posterior-mean weights, means and covariances."""

    kind = "bayes-gmm"

    def _fit(self, codes):
        # slow to import; only this path needs it
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import BayesianGaussianMixture

        o = self.options
        if len(codes) < o["components"]:
            raise RaekitError(
                f"{len(codes)} codes are fewer than the {o['components']} mixture components"
            )
        mixture = BayesianGaussianMixture(
            n_components=o["components"],
            covariance_type="full",
            max_iter=o["max_iter"],
            tol=o["tol"],
            reg_covar=o["reg_covar"],
            init_params=o["init"],
            random_state=o["seed"],
            weight_concentration_prior_type="dirichlet_process",
        )
        with warnings.catch_warnings():
            # Stopping at max_iter is the paper's setting for EM, not an error; converged_ records it.
            warnings.simplefilter("ignore", ConvergenceWarning)
            mixture.fit(codes)
        self.converged_, self.n_iter_ = bool(mixture.converged_), int(mixture.n_iter_)
        self.weights_, self.means_, self.covariances_ = (
            mixture.weights_,
            mixture.means_,
            mixture.covariances_,
        )
        self._factor()
