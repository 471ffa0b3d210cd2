"""Ex-post density estimators on latent codes (paper Section 4) with scikit-learn's contract."""
from __future__ import annotations

from typing import Any

import numpy as np

from raekit.density.base import Density, as_codes
from raekit.density.flow import FlowDensity
from raekit.density.gmm import GMMDensity
from raekit.density.io import load_density, save_density
from raekit.density.kernel import BayesGMMDensity, KDEDensity
from raekit.density.simple import GaussianDensity, PriorDensity
from raekit.density.two_stage import TwoStageDensity
from raekit.errors import RaekitError, unknown

DENSITIES = {"prior": PriorDensity, "gaussian": GaussianDensity, "gmm": GMMDensity, "two-stage": TwoStageDensity,
             "kde": KDEDensity, "bayes-gmm": BayesGMMDensity, "flow": FlowDensity}

__all__ = ["DENSITIES", "Density", "EstimatorDensity", "fit_density", "load_density", "make_density",
           "save_density"]


class EstimatorDensity(Density):
    """Any estimator with fit / sample / score_samples, e.g. sklearn's GaussianMixture or KernelDensity."""
    kind = "estimator"

    def __init__(self, estimator):
        for method in ("fit", "sample", "score_samples"):
            if not callable(getattr(estimator, method, None)):
                raise RaekitError(f"{type(estimator).__name__} has no {method}() method")
        self.estimator, self.options = estimator, {}

    def _fit(self, codes):
        self.estimator.fit(codes)

    def _sample(self, n, rng):
        if hasattr(self.estimator, "random_state"):
            self.estimator.random_state = int(rng.integers(2 ** 31))
        out = self.estimator.sample(n)
        return np.asarray(out[0] if isinstance(out, tuple) else out)  # GaussianMixture returns (X, labels)

    def _score(self, codes):
        return np.asarray(self.estimator.score_samples(codes))


def make_density(kind, **options: Any) -> Density:
    """A density by name (prior, gaussian, gmm, two-stage) or wrapping an estimator object."""
    if not isinstance(kind, str):
        return EstimatorDensity(kind)
    if kind not in DENSITIES:
        raise unknown("density", kind, DENSITIES)
    try:
        return DENSITIES[kind](**options)
    except TypeError:
        raise RaekitError(f"density {kind!r} does not take options {sorted(options)}") from None


def fit_density(codes, kind="gmm", valid_codes=None, **options: Any) -> tuple[Density, dict]:
    """Fit on training codes; report mean log-likelihood on them and on validation codes."""
    codes = as_codes(codes)
    density = make_density(kind, **options)
    # The KDE chooses its bandwidth, the flow its stopping epoch, on the validation codes.
    uses_valid = density.kind in ("kde", "flow")
    density = density.fit(codes, valid_codes) if uses_valid else density.fit(codes)
    report = {"kind": density.kind, "options": density.options, "n_train": len(codes),
              "train_loglik": density.score(codes)}
    if valid_codes is not None:
        report.update(n_valid=len(valid_codes), valid_loglik=density.score(valid_codes))
    return density, report
