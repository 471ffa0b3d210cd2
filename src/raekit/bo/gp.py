"""The GP surrogate of latent-space BO: fitting (exact or sparse variational), prediction and
held-out metrics, on arrays of latent codes and their scores (lower is better)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from scipy.stats import norm

from raekit.errors import RaekitError, unknown

GP_KINDS = ("exact", "sparse")
# gpytorch swaps Cholesky for iterative CG/Lanczos solves above 800 points: slower here and noisy.
_CHOLESKY_UP_TO = 20_000
ADAM_LR = 0.01  # minibatch ELBO steps (gpytorch's usual rate; GrammarVAE's 5e-4 is for its own parameters)


def as_tensor(a: Any) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(a, dtype=np.float64), dtype=torch.float64)


def exact_solves():
    # the grammar extra
    import gpytorch

    return gpytorch.settings.max_cholesky_size(_CHOLESKY_UP_TO)


def codes_and_scores(codes, scores, at_least: int, purpose: str) -> tuple[np.ndarray, np.ndarray]:
    """float64 (n, d) codes and (n,) scores, finite, with n >= at_least; a clear error otherwise."""
    x, y = np.asarray(codes, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
        raise RaekitError(
            f"expected codes of shape (n, d) and scores of shape (n,), got {x.shape} and {y.shape}"
        )
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise RaekitError("codes and scores must be finite; drop invalid items before BO")
    if len(x) < at_least:
        raise RaekitError(f"{purpose} needs at least {at_least} scored codes, got {len(x)}")
    return x, y


def training_size(kind: str, n: int, max_train: int | None = None) -> int:
    """How many of ``n`` codes a GP of ``kind`` trains on (the exact GP: 1,000 by default)."""
    if max_train is None and kind == "exact":
        max_train = 1000
    return n if max_train is None else min(n, max_train)


KEEP_BEST = 100  # an exact GP's subsample always holds the best-scoring codes


def _subsample(
    y: np.ndarray, max_train: int | None, keep_last: int, seed: int, keep_best: int = KEEP_BEST
) -> np.ndarray:
    """Rows to train on: all, or ``max_train`` of them that always include the last
    ``keep_last`` rows (BO acquisitions, so the GP knows where it has already looked) and the
    ``keep_best`` lowest-scoring data rows (so it knows where the best items are), the rest
    drawn at random."""
    n = len(y)
    if max_train is None or n <= max_train:
        return np.arange(n)
    keep_last = min(keep_last, max_train)
    data = n - keep_last
    best = np.argsort(y[:data], kind="stable")[: max(0, min(keep_best, max_train - keep_last))]
    others = np.setdiff1d(np.arange(data), best)
    rest = np.random.default_rng(seed).choice(
        others, max_train - keep_last - len(best), replace=False
    )
    return np.sort(np.concatenate([best, rest, np.arange(data, n)]))


def describe_training(kind: str, n: int, max_train: int | None = None, inducing: int = 500) -> str:
    """What the GP of ``kind`` sees of ``n`` codes, in words (bo.json and fig2.md show it)."""
    used = training_size(kind, n, max_train)
    if kind == "sparse" and used == n:
        return f"sparse GP ({inducing} inducing points) on all {n} codes"
    if used == n:
        return f"{kind} GP on all {n} codes"
    return (
        f"{kind} GP on {used} of {n} codes: the {min(KEEP_BEST, used)} best-scoring and "
        f"{used - min(KEEP_BEST, used)} at random (BO's acquisitions always kept)"
    )


def fit_gp(
    train_x,
    train_y,
    kind: str = "exact",
    inducing: int = 500,
    max_train: int | None = None,
    seed: int = 0,
    keep_last: int = 0,
    maxiter: int = 200,
    minibatch: int = 5000,
    epochs: int = 50,
):
    """Fit a GP surrogate mapping latent codes (n, d) to scores (n,); returns a BoTorch model.

    ``kind="sparse"`` (GrammarVAE's model, BO's default): ``SingleTaskVariationalGP`` with
    ``inducing`` (500) learned inducing points, started at random training inputs, on all
    points (``max_train`` default: no limit). Up to one ``minibatch`` of points it maximises the
    ELBO with full-batch L-BFGS; beyond, as GrammarVAE trains it, with Adam on minibatches of
    ``minibatch`` (5000) for ``epochs`` (50) passes over the data.
    ``kind="exact"`` (default here): ``SingleTaskGP`` on a random subsample of at most
    ``max_train`` points (default 1000) that always holds the 100 best-scoring codes and
    BO's acquisitions (`_subsample`), exact marginal likelihood. On a 2-core CPU
    with 4500 codes in 56-d, exact-on-1000 fits in ~25 s, the sparse GP in ~130 s (about 170k
    variational parameters for L-BFGS), for a similar held-out RMSE (within ~5%).
    L-BFGS takes at most ``maxiter`` steps per try.
    Inputs are min/max normalised and scores standardised inside the model (Normalize /
    Standardize transforms); predictions come back in score units.
    """
    # the grammar extra
    from botorch.models.transforms import Normalize, Standardize

    if kind not in GP_KINDS:
        raise unknown("GP kind", kind, GP_KINDS)
    x, y = codes_and_scores(train_x, train_y, 3, "the GP")
    rows = _subsample(y, training_size(kind, len(x), max_train), keep_last, seed)
    X, Y = as_tensor(x[rows]), as_tensor(y[rows]).unsqueeze(-1)
    # Fixed bounds, so that a minibatch cannot re-learn the normalisation; a constant code
    # dimension gets a unit range instead of a division by zero.
    low, high = X.min(0).values, X.max(0).values
    bounds = torch.stack([low, torch.where(high > low, high, low + 1)])
    transforms = {
        "input_transform": Normalize(d=X.shape[-1], bounds=bounds),
        "outcome_transform": Standardize(m=1),
    }
    with torch.random.fork_rng(), warnings.catch_warnings(), exact_solves():
        torch.manual_seed(seed)
        warnings.simplefilter("ignore")  # transform/optimiser chatter
        if kind == "exact":
            model = _fit_exact(X, Y, transforms, maxiter)
        else:
            model = _fit_sparse(X, Y, transforms, inducing, maxiter, minibatch, epochs)
    return model.eval()


def _fit_exact(X, Y, transforms, maxiter: int):
    # the grammar extra
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from gpytorch.mlls import ExactMarginalLogLikelihood

    model = SingleTaskGP(X, Y, **transforms)
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": maxiter}})
    return model


def _fit_sparse(X, Y, transforms, inducing: int, maxiter: int, minibatch: int, epochs: int):
    # the grammar extra
    from botorch.fit import fit_gpytorch_mll
    from botorch.models.approximate_gp import SingleTaskVariationalGP
    from botorch.optim.fit import fit_gpytorch_mll_scipy
    from gpytorch.mlls import VariationalELBO

    # GrammarVAE's start: inducing points at distinct random training inputs (in the model's
    # normalised space). botorch's default pivoted-Cholesky start evaluates the n x n kernel:
    # 65 GB for the 90k expression codes.
    rows = torch.randperm(len(X))[: min(inducing, len(X))]
    start = transforms["input_transform"](X)[rows].detach().clone()
    model = SingleTaskVariationalGP(X, Y, inducing_points=start, **transforms)
    gp = model.model
    mll = VariationalELBO(model.likelihood, gp, num_data=len(X))
    if len(X) <= minibatch:
        fit_gpytorch_mll(
            mll,
            optimizer=fit_gpytorch_mll_scipy,
            optimizer_kwargs={"options": {"maxiter": maxiter}},
        )
        return model
    x, y = gp.train_inputs[0], gp.train_targets  # normalised inputs, standardised scores
    optimiser = torch.optim.Adam(model.parameters(), lr=ADAM_LR)
    model.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(x)).split(minibatch):
            optimiser.zero_grad()
            (-mll(gp(x[batch]), y[batch])).backward()
            optimiser.step()
    return model


def predict(model, x) -> tuple[np.ndarray, np.ndarray]:
    """Posterior predictive mean and variance (including observation noise) in score units."""
    with torch.no_grad(), warnings.catch_warnings(), exact_solves():
        warnings.simplefilter("ignore")
        post = model.posterior(as_tensor(x), observation_noise=True)
        return post.mean.squeeze(-1).numpy(), post.variance.squeeze(-1).numpy()


def evaluate_gp(model, test_x, test_y) -> dict[str, float]:
    """Held-out RMSE of the posterior mean and mean predictive log-density (noise included)."""
    y = np.asarray(test_y, dtype=np.float64)
    mean, var = predict(model, test_x)
    return {
        "rmse": float(np.sqrt(np.mean((mean - y) ** 2))),
        "loglik": float(np.mean(norm.logpdf(y, loc=mean, scale=np.sqrt(var)))),
    }
