"""GrammarVAE's batch acquisition: greedy expected improvement with a kriging believer.

Each of the ``q`` points maximises log EI below the incumbent (the lowest posterior mean),
under the GP conditioned on the points already chosen as if each had been observed, without
noise, at its posterior mean (GrammarVAE's averaged EI with zero randomness): the mean is
unchanged, the variance vanishes at a chosen point and shrinks near it, so the batch spreads.
Every step starts L-BFGS-B from the best point of one random grid (10,000 points) and runs at
most 150 iterations, as GrammarVAE's ``batched_greedy_ei`` does.

Both GP kinds are written as ``mean(a) = m0 + k(A, a)' alpha`` and
``cov(a, b) = k(a, b) - k(A, a)' W k(A, b)``, with anchors ``A`` the training inputs (exact GP)
or the inducing points (sparse GP), in the model's normalised inputs and standardised scores.
The grid's terms are computed once per batch, so a step costs a matrix-vector product.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import minimize

from raekit.bo.gp import as_tensor
from raekit.errors import RaekitError

ACQUISITION = "greedy EI, noise-free kriging believer"  # recorded with every BO seed
GRID = 10_000
LBFGS_STEPS = 150
_MIN_VARIANCE = 1e-12
_JITTER = 1e-6  # relative to the prior variance, for the noise-free conditioning


@dataclass
class LinearPosterior:
    """A fitted GP's posterior as anchors, weights and kernel (see the module's docstring)."""

    model: object  # the BoTorch model: its kernel, prior mean and input transform
    anchors: torch.Tensor  # (m, d), normalised
    alpha: torch.Tensor  # (m,)
    weights: torch.Tensor  # (m, m), W

    @classmethod
    def of(cls, model) -> LinearPosterior:
        # the grammar extra
        from botorch.models.approximate_gp import ApproximateGPyTorchModel

        with torch.no_grad():
            if isinstance(model, ApproximateGPyTorchModel):
                return cls._sparse(model)
            return cls._exact(model)

    @classmethod
    def _exact(cls, model) -> LinearPosterior:
        x, y = model.train_inputs[0], model.train_targets
        noise = float(model.likelihood.noise.squeeze())
        k = model.covar_module(x, x).to_dense() + noise * torch.eye(len(x), dtype=x.dtype)
        chol = torch.linalg.cholesky(k)
        weights = torch.cholesky_inverse(chol)
        alpha = weights @ (y - model.mean_module(x))
        return cls(model, x, alpha, weights)

    @classmethod
    def _sparse(cls, model) -> LinearPosterior:
        # gpytorch's whitened strategy: u = L v, v ~ N(m, S), L the Cholesky factor of Kzz.
        strategy = model.model.variational_strategy
        z = strategy.inducing_points
        jitter = 1e-6 if z.dtype == torch.float64 else 1e-4
        kzz = model.model.covar_module(z, z).to_dense() + jitter * torch.eye(len(z), dtype=z.dtype)
        chol_inv = torch.linalg.inv(torch.linalg.cholesky(kzz))  # L^-1
        q = strategy.variational_distribution
        m, s = q.mean, q.covariance_matrix
        weights = chol_inv.T @ (torch.eye(len(z), dtype=z.dtype) - s) @ chol_inv
        return cls(model, z, chol_inv.T @ m, weights)

    def _gp(self):
        return getattr(self.model, "model", self.model)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.input_transform(x)

    def kernel(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self._gp().covar_module(a, b).to_dense()

    def mean(self, xn: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Posterior mean at normalised ``xn`` (n, d), given ``features = k(A, xn)``."""
        return self._gp().mean_module(xn) + features.T @ self.alpha

    def variance(self, xn: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        prior = self._gp().covar_module(xn, diag=True)
        return prior - (features * (self.weights @ features)).sum(0)

    def covariance(self, xn: torch.Tensor, features, other: torch.Tensor, other_features):
        """cov(f(xn), f(other)), shape (n, p)."""
        return self.kernel(xn, other) - features.T @ self.weights @ other_features


def _log_ei(mean: torch.Tensor, variance: torch.Tensor, best: float) -> torch.Tensor:
    """log E[max(best - f, 0)] for f ~ N(mean, variance): minimisation."""
    # the grammar extra
    from botorch.acquisition.analytic import _log_ei_helper

    sd = variance.clamp_min(_MIN_VARIANCE).sqrt()
    return _log_ei_helper((best - mean) / sd) + sd.log()


class _Believer:
    """The batch chosen so far, and what conditioning on it (at its mean) does to a point."""

    def __init__(self, post: LinearPosterior):
        self.post = post
        self.points = torch.empty(0, post.anchors.shape[1], dtype=post.anchors.dtype)
        self.features = torch.empty(len(post.anchors), 0, dtype=post.anchors.dtype)
        self.inverse = torch.empty(0, 0, dtype=post.anchors.dtype)

    def add(self, xn: torch.Tensor) -> None:
        feats = self.post.kernel(self.post.anchors, xn)
        self.points = torch.cat([self.points, xn])
        self.features = torch.cat([self.features, feats], 1)
        cov = self.post.covariance(self.points, self.features, self.points, self.features)
        jitter = _JITTER * torch.diag(torch.diagonal(cov).clamp_min(_MIN_VARIANCE))
        self.inverse = torch.linalg.inv(cov + jitter)

    def shrink(self, cross: torch.Tensor) -> torch.Tensor:
        """Variance removed at points whose covariance with the batch is ``cross`` (n, p)."""
        return ((cross @ self.inverse) * cross).sum(1)

    def log_ei(self, xn: torch.Tensor, best: float) -> torch.Tensor:
        feats = self.post.kernel(self.post.anchors, xn)
        var = self.post.variance(xn, feats)
        if len(self.points):
            var = var - self.shrink(self.post.covariance(xn, feats, self.points, self.features))
        return _log_ei(self.post.mean(xn, feats), var, best)


def _lbfgs(value, start: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Minimise ``value`` (a torch function of one point) from ``start`` within ``bounds``."""

    def f(x):
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        out = value(t.unsqueeze(0)).squeeze()
        (grad,) = torch.autograd.grad(out, t)
        return float(out.detach()), grad.numpy()

    fitted = minimize(
        f, start, jac=True, method="L-BFGS-B", bounds=list(zip(*bounds)),
        options={"maxiter": LBFGS_STEPS},
    )  # fmt: skip
    return np.clip(fitted.x, bounds[0], bounds[1])


def propose_batch(model, bounds, q: int = 50, seed: int = 0, grid: int = GRID) -> torch.Tensor:
    """``q`` points (q, d) within ``bounds`` (2, d: per-dimension min and max), chosen one at a
    time by GrammarVAE's greedy kriging-believer expected improvement (lower scores better)."""
    b = np.asarray(as_tensor(bounds))
    if b.ndim != 2 or b.shape[0] != 2 or not (b[0] <= b[1]).all():
        raise RaekitError(f"bounds must have shape (2, d) with lower <= upper, got {b.shape}")
    if q < 1:
        raise RaekitError(f"batch size q must be at least 1, got {q}")
    post = LinearPosterior.of(model)
    rng = np.random.default_rng(seed)
    points = b[0] + rng.random((grid, b.shape[1])) * (b[1] - b[0])
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Normalize's chatter about inputs outside its bounds
        xn = post.normalise(as_tensor(points))
        feats = post.kernel(post.anchors, xn)
        grid_mean, grid_var = post.mean(xn, feats), post.variance(xn, feats)
        projected = post.weights @ feats  # W k(A, grid): the grid's part of every covariance

    def mean_at(x):
        xn = post.normalise(x)
        return post.mean(xn, post.kernel(post.anchors, xn))

    low = _lbfgs(mean_at, points[int(grid_mean.argmin())], b)
    best = float(mean_at(as_tensor(low[None])).detach())  # the incumbent: lowest posterior mean
    believer, cross = _Believer(post), torch.empty(grid, 0, dtype=torch.float64)
    chosen = []
    for _ in range(q):
        with torch.no_grad():
            var = grid_var - believer.shrink(cross) if chosen else grid_var
            start = points[int(_log_ei(grid_mean, var, best).argmax())]
        x = _lbfgs(lambda t: -believer.log_ei(post.normalise(t), best), start, b)
        chosen.append(x)
        with torch.no_grad():
            xn_new = post.normalise(as_tensor(x[None]))
            believer.add(xn_new)
            new = post.kernel(xn, xn_new) - projected.T @ post.kernel(post.anchors, xn_new)
            cross = torch.cat([cross, new], 1)
    return as_tensor(np.stack(chosen))
