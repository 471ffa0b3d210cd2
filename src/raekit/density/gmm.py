"""A k-component, full-covariance Gaussian mixture fitted by EM (paper: 10 components, <= 100 iterations).

EM runs in torch float64 (`raekit.density.em`) with scikit-learn's update equations and stopping
rule, started from scikit-learn's own k-means (or k-means++) initialisation with the same seed, so
a fit matches `GaussianMixture(random_state=seed)`. Parameters are plain arrays: they save to
safetensors and sample with a seeded numpy generator.
"""

from __future__ import annotations

import numpy as np
import torch

from raekit.density import em
from raekit.density.base import Density
from raekit.errors import RaekitError, unknown

INITS = ("kmeans", "k-means++")

DEFAULT_COMPONENTS = 10  # the paper's GMM


class GMMDensity(Density):
    """Options follow scikit-learn's GaussianMixture; `weights_init`, `means_init` and
    `precisions_init` (arrays, not saved) replace the k-means start, as they do there."""

    kind = "gmm"

    def __init__(
        self,
        components: int = DEFAULT_COMPONENTS,
        max_iter: int = 100,
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        init: str = "kmeans",
        seed: int = 0,
        weights_init=None,
        means_init=None,
        precisions_init=None,
    ):
        if int(components) < 1:
            raise RaekitError(f"a GMM needs at least 1 component, got {components}")
        if int(max_iter) < 1:
            raise RaekitError(f"max_iter must be at least 1, got {max_iter}")
        if init not in INITS:
            raise unknown("GMM init", init, INITS)
        self.options = dict(
            components=int(components),
            max_iter=int(max_iter),
            tol=float(tol),
            reg_covar=float(reg_covar),
            init=init,
            seed=int(seed),
        )
        self._given = {"weights": weights_init, "means": means_init, "precisions": precisions_init}

    def _fit(self, codes):
        x = torch.from_numpy(codes)
        self.check_count(len(x))
        start = self.initial_mixture(x)
        shift = centre_of(start)
        self.set_result(em.run_em(x - shift, shifted(start, -shift), *self.em_options()), shift)

    def check_count(self, n: int) -> None:
        if n < self.options["components"]:
            raise RaekitError(
                f"{n} codes are fewer than the {self.options['components']} GMM components"
            )

    def em_options(self) -> tuple[int, float, float]:
        return self.options["max_iter"], self.options["tol"], self.options["reg_covar"]

    def set_result(self, result: em.EMResult, shift: torch.Tensor) -> None:
        """Keep an EM result that ran on codes minus `shift`."""
        mix = shifted(result.mixture, shift)
        self.n_features_in_ = mix.means.shape[1]
        self.weights_, self.means_, self.covariances_ = (t.numpy() for t in mix[:3])
        self.n_iter_, self.converged_ = result.n_iter, result.converged
        self.lower_bound_, self.lower_bounds_ = result.lower_bound, result.lower_bounds
        self._factor()

    def initial_mixture(self, x: torch.Tensor) -> em.Mixture:
        """scikit-learn's initialisation: M-step on hard k-means labels (weights N_k / n), then any
        user-given weights, means or precisions replace the computed ones."""
        o, given = self.options, self._given
        k, d = o["components"], x.shape[1]
        if given["weights"] is not None:
            w = np.asarray(given["weights"], dtype=np.float64)
            if (w < 0).any() or abs(w.sum() - 1) > 1e-6:
                raise RaekitError(
                    f"GMM weights_init must be non-negative and sum to 1, got sum {w.sum():.6g}"
                )
        if all(v is not None for v in given.values()):
            weights, means = _array(given["weights"], (k,)), _array(given["means"], (k, d))
            precisions = _array(given["precisions"], (k, d, d))
            return _from_precisions(weights, means, precisions)
        labels = torch.from_numpy(self._labels(x.numpy()))
        total = [0, 0, 0]
        for part, lab in zip(x.split(em.chunk_size(k, d)), labels.split(em.chunk_size(k, d))):
            resp = (lab[:, None] == torch.arange(k)).to(x.dtype)
            total = [a + b for a, b in zip(total, em.weighted_stats(part, resp))]
        start = em.m_step(em.EStats(*total, torch.zeros(()), len(x)), o["reg_covar"])
        start = start._replace(weights=(total[0] + em.EPS10) / len(x))
        if given["weights"] is not None:
            start = start._replace(weights=_array(given["weights"], (k,)))
        if given["means"] is not None:
            start = start._replace(means=_array(given["means"], (k, d)))
        if given["precisions"] is not None:
            start = _from_precisions(
                start.weights, start.means, _array(given["precisions"], (k, d, d))
            )
        return start

    def _labels(self, codes: np.ndarray) -> np.ndarray:
        """Hard assignments from scikit-learn's k-means (or k-means++ seeds), -1 for unassigned codes."""
        # slow to import; only this path needs it
        from sklearn.cluster import KMeans, kmeans_plusplus

        k, seed = self.options["components"], np.random.RandomState(self.options["seed"])
        if self.options["init"] == "kmeans":
            return (
                KMeans(n_clusters=k, n_init=1, random_state=seed)
                .fit(codes)
                .labels_.astype(np.int64)
            )
        _, indices = kmeans_plusplus(codes, k, random_state=seed)
        labels = np.full(len(codes), -1, dtype=np.int64)
        labels[indices] = np.arange(k)
        return labels

    def _factor(self):
        self.mixture_ = em.from_covariances(
            *(
                torch.from_numpy(np.asarray(a, np.float64))
                for a in (self.weights_, self.means_, self.covariances_)
            )
        )

    def _sample(self, n, rng):
        counts = rng.multinomial(n, self.weights_ / self.weights_.sum())
        chol = np.linalg.cholesky(self.covariances_)
        parts = [
            m + rng.standard_normal((c, len(m))) @ lo.T
            for m, lo, c in zip(self.means_, chol, counts)
        ]
        return np.concatenate(parts)[rng.permutation(n)]

    def _score(self, codes):
        return em.log_density(torch.from_numpy(codes), self.mixture_).numpy()

    def state(self):
        return {"weights": self.weights_, "means": self.means_, "covariances": self.covariances_}

    def load_state(self, arrays, d: int) -> None:
        self.n_features_in_ = d
        self.weights_, self.means_, self.covariances_ = (
            arrays["weights"],
            arrays["means"],
            arrays["covariances"],
        )
        self._factor()


def centre_of(mix: em.Mixture) -> torch.Tensor:
    """The mixture's mean. EM is shift-invariant; running it on codes centred there keeps the
    raw-moment M-step exact in float64."""
    return mix.weights @ mix.means


def shifted(mix: em.Mixture, shift: torch.Tensor) -> em.Mixture:
    return mix._replace(means=mix.means + shift)


def _array(value, shape) -> torch.Tensor:
    array = torch.as_tensor(np.asarray(value, dtype=np.float64))
    if tuple(array.shape) != tuple(shape):
        raise RaekitError(
            f"GMM initial parameters have shape {tuple(array.shape)}, expected {tuple(shape)}"
        )
    return array


def _from_precisions(weights, means, precisions) -> em.Mixture:
    """Any U with U U^T = precision serves the E-step; the lower Cholesky factor is one."""
    prec_chol, info = torch.linalg.cholesky_ex(precisions)
    if int(info.max()) > 0:
        raise RaekitError("GMM precisions_init must be symmetric positive definite")
    return em.Mixture(weights, means, torch.linalg.inv(precisions), prec_chol)
