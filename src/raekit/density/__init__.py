"""Ex-post density estimators on latent codes (paper Section 4) with scikit-learn's contract."""

from __future__ import annotations

import inspect
from typing import Any

from raekit.density.base import Density, as_codes
from raekit.density.estimator import EstimatorDensity
from raekit.density.flow import FlowDensity
from raekit.density.gmm import GMMDensity
from raekit.density.io import load_density, save_density
from raekit.density.kernel import BayesGMMDensity, KDEDensity
from raekit.density.simple import GaussianDensity, PriorDensity
from raekit.density.two_stage import TwoStageDensity
from raekit.errors import RaekitError, unknown

DENSITIES = {
    "prior": PriorDensity,
    "gaussian": GaussianDensity,
    "gmm": GMMDensity,
    "two-stage": TwoStageDensity,
    "kde": KDEDensity,
    "bayes-gmm": BayesGMMDensity,
    "flow": FlowDensity,
}

__all__ = [
    "DENSITIES",
    "Density",
    "EstimatorDensity",
    "fit_density",
    "load_density",
    "make_density",
    "save_density",
]


def make_density(kind, **options: Any) -> Density:
    """A density by name (see DENSITIES), or any object with fit/sample/score_samples wrapped as one."""
    if not isinstance(kind, str):
        return EstimatorDensity(kind)
    if kind not in DENSITIES:
        raise unknown("density", kind, DENSITIES)
    accepted = list(inspect.signature(DENSITIES[kind]).parameters)
    extra = sorted(set(options) - set(accepted))
    if extra:
        raise RaekitError(
            f"density {kind!r} does not take option(s) {', '.join(extra)} "
            f"(it takes {', '.join(accepted) or 'none'})"
        )
    return DENSITIES[kind](**options)


def fit_density(codes, kind="gmm", valid_codes=None, **options: Any) -> tuple[Density, dict]:
    """Fit on training codes; report the mean log-likelihood on them and on validation codes
    (the paper's overfitting check: a large gap means the density memorised the training codes)."""
    codes = as_codes(codes)
    density = make_density(kind, **options)
    density = density.fit(codes, valid_codes) if density.fits_on_validation else density.fit(codes)
    report = {
        "kind": density.kind,
        "options": density.options,
        "n_train": len(codes),
        "train_loglik": density.score(codes),
    }
    if valid_codes is not None:
        report.update(n_valid=len(valid_codes), valid_loglik=density.score(valid_codes))
    for name in (
        "n_iter",
        "converged",
        "ridge",
    ):  # EM iterations used; the Gaussian's singularity ridge
        if hasattr(density, name + "_"):
            report[name] = getattr(density, name + "_")
    return density, report
