"""Any object with fit / sample / score_samples (e.g. scikit-learn's GaussianMixture) as a density."""

from __future__ import annotations

import numpy as np

from raekit.density.base import Density
from raekit.errors import RaekitError


class EstimatorDensity(Density):
    """Wraps a user estimator. sample(n) may return an array or scikit-learn's (X, labels) pair;
    estimators with a `random_state` attribute get one drawn from the seed, so sampling is seeded.
    Wrapped estimators cannot be saved: raekit stores arrays, never pickled objects."""

    kind = "estimator"

    def __init__(self, estimator):
        for method in ("fit", "sample", "score_samples"):
            if not callable(getattr(estimator, method, None)):
                raise RaekitError(
                    f"{type(estimator).__name__} has no {method}() method, so it cannot be a density"
                )
        self.estimator, self.options = estimator, {}

    def _fit(self, codes):
        self.estimator.fit(codes)

    def _sample(self, n, rng):
        if hasattr(self.estimator, "random_state"):
            self.estimator.random_state = int(rng.integers(2**31))
        out = self.estimator.sample(n)
        samples = np.asarray(out[0] if isinstance(out, tuple) else out, dtype=np.float64)
        if samples.shape != (n, self.n_features_in_):
            raise RaekitError(
                f"{type(self.estimator).__name__}.sample({n}) returned shape {samples.shape}, "
                f"expected {(n, self.n_features_in_)}"
            )
        return samples

    def _score(self, codes):
        return np.asarray(self.estimator.score_samples(codes), dtype=np.float64).reshape(len(codes))
