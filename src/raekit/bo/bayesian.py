"""Bayesian optimisation in a latent space (paper Section 6.2, Figure 2).

Generic over models: everything works on arrays of latent codes and a caller-supplied
``decode_and_score`` callable. Convention: **lower scores are better** (expressions use the
log(1 + MSE) score directly; for molecules the caller passes the negated penalised logP).
The GP models the scores as given; expected improvement is taken on the negated scores.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.stats import norm

from raekit.errors import RaekitError, unknown

GP_KINDS = ("exact", "sparse")
# gpytorch swaps Cholesky for iterative CG/Lanczos solves above 800 points: slower here and noisy.
_CHOLESKY_UP_TO = 20_000
INVALID_POLICIES = ("skip", "worst")
WORST_OVER = ("run", "all")  # where the worst score left out of averages is taken


def _as_tensor(a: Any) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(a, dtype=np.float64), dtype=torch.float64)


def _exact_solves():
    import gpytorch

    return gpytorch.settings.max_cholesky_size(_CHOLESKY_UP_TO)


def _codes_and_scores(codes, scores, at_least: int, purpose: str) -> tuple[np.ndarray, np.ndarray]:
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


def _subsample(n: int, max_train: int | None, keep_last: int, seed: int) -> np.ndarray:
    """Random rows to train on; the last ``keep_last`` rows (BO acquisitions) are always kept,
    so the GP knows where it has already looked."""
    if max_train is None or n <= max_train:
        return np.arange(n)
    keep_last = min(keep_last, max_train)
    rest = np.random.default_rng(seed).choice(n - keep_last, max_train - keep_last, replace=False)
    return np.sort(np.concatenate([rest, np.arange(n - keep_last, n)]))


def fit_gp(
    train_x,
    train_y,
    kind: str = "exact",
    inducing: int = 500,
    max_train: int | None = None,
    seed: int = 0,
    keep_last: int = 0,
    maxiter: int = 200,
):
    """Fit a GP surrogate mapping latent codes (n, d) to scores (n,); returns a BoTorch model.

    ``kind="sparse"`` (GrammarVAE's model, BO's default): ``SingleTaskVariationalGP`` with
    ``inducing`` (500) learned inducing points on all points (``max_train`` default: no limit),
    trained by maximising the ELBO with full-batch L-BFGS.
    ``kind="exact"`` (default here): ``SingleTaskGP`` on a random subsample of at most
    ``max_train`` points (default 1000), exact marginal likelihood. On a 2-core CPU
    with 4500 codes in 56-d, exact-on-1000 fits in ~25 s, the sparse GP in ~130 s (about 170k
    variational parameters for L-BFGS), for a similar held-out RMSE (within ~5%).
    Hyperparameters (and variational parameters) get at most ``maxiter`` L-BFGS steps per try.
    Inputs are min/max normalised and scores standardised inside the model (Normalize /
    Standardize transforms); predictions come back in score units.
    """
    from botorch.fit import fit_gpytorch_mll
    from botorch.models.transforms import Normalize, Standardize

    if kind not in GP_KINDS:
        raise unknown("GP kind", kind, GP_KINDS)
    x, y = _codes_and_scores(train_x, train_y, 3, "the GP")
    if max_train is None and kind == "exact":
        max_train = 1000
    rows = _subsample(len(x), max_train, keep_last, seed)
    X, Y = _as_tensor(x[rows]), _as_tensor(y[rows]).unsqueeze(-1)
    transforms = {
        "input_transform": Normalize(d=X.shape[-1]),
        "outcome_transform": Standardize(m=1),
    }
    with torch.random.fork_rng(), warnings.catch_warnings(), _exact_solves():
        torch.manual_seed(seed)
        warnings.simplefilter("ignore")  # transform/optimiser chatter; fits are full batch
        if kind == "exact":
            from botorch.models import SingleTaskGP
            from gpytorch.mlls import ExactMarginalLogLikelihood

            model = SingleTaskGP(X, Y, **transforms)
            mll = ExactMarginalLogLikelihood(model.likelihood, model)
            fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": maxiter}})
        else:
            from botorch.models.approximate_gp import SingleTaskVariationalGP
            from botorch.optim.fit import fit_gpytorch_mll_scipy
            from gpytorch.mlls import VariationalELBO

            model = SingleTaskVariationalGP(
                X, Y, inducing_points=min(inducing, len(X)), **transforms
            )
            mll = VariationalELBO(model.likelihood, model.model, num_data=len(X))
            fit_gpytorch_mll(
                mll,
                optimizer=fit_gpytorch_mll_scipy,
                optimizer_kwargs={"options": {"maxiter": maxiter}},
            )
    return model.eval()


def predict(model, x) -> tuple[np.ndarray, np.ndarray]:
    """Posterior predictive mean and variance (including observation noise) in score units."""
    with torch.no_grad(), warnings.catch_warnings(), _exact_solves():
        warnings.simplefilter("ignore")
        post = model.posterior(_as_tensor(x), observation_noise=True)
        return post.mean.squeeze(-1).numpy(), post.variance.squeeze(-1).numpy()


def evaluate_gp(model, test_x, test_y) -> dict[str, float]:
    """Held-out RMSE of the posterior mean and mean predictive log-density (noise included)."""
    y = np.asarray(test_y, dtype=np.float64)
    mean, var = predict(model, test_x)
    return {
        "rmse": float(np.sqrt(np.mean((mean - y) ** 2))),
        "loglik": float(np.mean(norm.logpdf(y, loc=mean, scale=np.sqrt(var)))),
    }


def propose_batch(
    model,
    best_y: float,
    bounds,
    q: int = 50,
    seed: int = 0,
    num_restarts: int = 4,
    raw_samples: int = 128,
    mc_samples: int = 128,
    maxiter: int = 50,
) -> torch.Tensor:
    """``q`` points maximising batch expected improvement below ``best_y`` (lower is better).

    MC-based qLogEI on the negated scores, optimised by sequential greedy ``optimize_acqf``
    within ``bounds`` (shape (2, d): per-dimension min and max of the training codes).
    """
    from botorch.acquisition.logei import qLogExpectedImprovement
    from botorch.acquisition.objective import LinearMCObjective
    from botorch.optim import optimize_acqf
    from botorch.sampling import SobolQMCNormalSampler

    b = _as_tensor(bounds)
    if b.ndim != 2 or b.shape[0] != 2 or not bool((b[0] <= b[1]).all()):
        raise RaekitError(
            f"bounds must have shape (2, d) with lower <= upper, got {tuple(b.shape)}"
        )
    if q < 1:
        raise RaekitError(f"batch size q must be at least 1, got {q}")
    sampler = SobolQMCNormalSampler(sample_shape=torch.Size([mc_samples]), seed=seed)
    acq = qLogExpectedImprovement(
        model,
        best_f=-float(best_y),
        sampler=sampler,
        objective=LinearMCObjective(torch.tensor([-1.0], dtype=torch.float64)),
    )
    with torch.random.fork_rng(), warnings.catch_warnings(), _exact_solves():
        torch.manual_seed(seed)
        warnings.simplefilter("ignore")  # optimiser convergence warnings are expected
        points, _ = optimize_acqf(
            acq,
            bounds=b,
            q=q,
            num_restarts=num_restarts,
            raw_samples=raw_samples,
            sequential=True,
            options={"seed": seed, "maxiter": maxiter},
        )
    return points.detach()


def most_frequent_valid(
    decodings: Sequence[Sequence[str]], is_valid: Callable[[str], bool]
) -> list[str | None]:
    """Per point, the most frequent valid decoding (ties: first seen), or None if none is valid."""
    verdict: dict[str, bool] = {}  # validity checks (e.g. RDKit parsing) can be slow: once each

    def valid(candidate: str | None) -> bool:
        if candidate is None:
            return False
        if candidate not in verdict:
            verdict[candidate] = bool(is_valid(candidate))
        return verdict[candidate]

    out: list[str | None] = []
    for candidates in decodings:
        counts = Counter(c for c in candidates if valid(c))
        out.append(counts.most_common(1)[0][0] if counts else None)
    return out


def _unique_top(items: Sequence, scores: Sequence[float], k: int) -> list[tuple[Any, float]]:
    """Best ``k`` distinct items by ascending score (each item at its best score)."""
    best: dict[Any, float] = {}
    for item, score in zip(items, scores):
        if item not in best or score < best[item]:
            best[item] = float(score)
    return sorted(best.items(), key=lambda kv: kv[1])[:k]


@dataclass
class BOResult:
    """Everything one BO run proposed. ``rounds[i]`` holds iteration i's ``points`` (q, d),
    decoded ``items``, ``scores`` (NaN where invalid) and ``valid`` mask."""

    rounds: list[dict[str, Any]] = field(default_factory=list)
    gp_metrics: dict[str, float] = field(default_factory=dict)
    invalid_score: float = float("nan")  # what an invalid proposal scored for the GP

    def observed(self) -> np.ndarray:
        """Every proposal's score as GrammarVAE records it: invalid ones at ``invalid_score``."""
        scores = np.asarray(self._flat("scores"), dtype=np.float64)
        return np.where(np.asarray(self._flat("valid"), dtype=bool), scores, self.invalid_score)

    def _flat(self, key: str) -> list:
        return [v for r in self.rounds for v in r[key]]

    @property
    def fraction_valid(self) -> float:
        valid = self._flat("valid")
        return float(np.mean(valid)) if valid else float("nan")

    @property
    def mean_valid_score(self) -> float:
        """Mean score of the valid proposals (NaN when none was valid)."""
        scores = [s for s, v in zip(self._flat("scores"), self._flat("valid")) if v]
        return float(np.mean(scores)) if scores else float("nan")

    def mean_below(self, worst: float) -> float:
        """GrammarVAE's average: the mean of the scores strictly better than ``worst``, which
        leaves out invalid proposals and any valid one that scored as badly (NaN if none)."""
        observed = self.observed()
        better = observed[observed < worst]
        return float(better.mean()) if len(better) else float("nan")

    def valid_pairs(self) -> list[tuple[Any, float]]:
        """(item, score) of every valid proposal, in proposal order."""
        return [
            (i, float(s))
            for i, s, v in zip(self._flat("items"), self._flat("scores"), self._flat("valid"))
            if v
        ]

    def top(self, k: int = 3) -> list[tuple[Any, float]]:
        """Best ``k`` distinct valid items with their scores, best (lowest) first."""
        pairs = self.valid_pairs()
        return _unique_top([p[0] for p in pairs], [p[1] for p in pairs], k)

    def to_dict(self, k: int = 3) -> dict[str, Any]:
        """JSON-able summary: metrics plus every proposal (invalid scores become null)."""

        def clean(r: dict[str, Any]) -> dict[str, Any]:
            return {
                "points": np.asarray(r["points"]).tolist(),
                "items": [str(i) if v else None for i, v in zip(r["items"], r["valid"])],
                "scores": [float(s) if v else None for s, v in zip(r["scores"], r["valid"])],
                "valid": [bool(v) for v in r["valid"]],
            }

        def nan_to_none(x):
            return None if np.isnan(x) else x

        return {
            "fraction_valid": nan_to_none(self.fraction_valid),
            "mean_valid_score": nan_to_none(self.mean_valid_score),
            "top": [[str(i), s] for i, s in self.top(k)],
            "gp_metrics": dict(self.gp_metrics),
            "rounds": [clean(r) for r in self.rounds],
        }


def _call_decoder(decode_and_score: Callable, points: np.ndarray):
    items, scores, valid = decode_and_score(points)
    scores, valid = np.asarray(scores, dtype=np.float64), np.asarray(valid, dtype=bool)
    if not (len(items) == len(scores) == len(valid) == len(points)):
        raise RaekitError(
            f"decode_and_score returned {len(items)} items, {len(scores)} scores and "
            f"{len(valid)} flags for {len(points)} points"
        )
    valid = valid & np.isfinite(scores)  # a NaN score cannot guide the GP
    return list(items), np.where(valid, scores, np.nan), valid


def bayesian_optimisation(
    codes,
    scores,
    decode_and_score: Callable[[np.ndarray], tuple],
    iterations: int = 5,
    batch: int = 50,
    seed: int = 0,
    gp: str = "sparse",
    invalid: str = "worst",
    invalid_score: float | None = None,
    progress: bool = True,
    sign: float = 1.0,
    **gp_kwargs: Any,
) -> BOResult:
    """GrammarVAE-style batch BO over latent ``codes`` (n, d) with ``scores`` (n,), lower better.

    A random 10% split is held out to report the GP's test RMSE / log-likelihood; the other 90%
    seed the GP. Each iteration proposes ``batch`` points by qLogEI within the per-dimension
    min/max of the training codes, calls ``decode_and_score(points) -> (items, scores, valid)``
    and refits the GP with the new observations. ``invalid="worst"`` (default, GrammarVAE's
    rule) adds every proposal to the GP's data, an invalid one with ``invalid_score`` (default:
    the worst of ``scores``), so the GP learns to avoid regions that decode badly; ``"skip"``
    records invalid points but keeps them out of the GP. The progress line shows scores
    multiplied by ``sign`` (-1 where the caller minimises a negated objective).
    """
    if invalid not in INVALID_POLICIES:
        raise unknown("invalid-point policy", invalid, INVALID_POLICIES)
    x, y = _codes_and_scores(codes, scores, 10, "BO's 90/10 split")
    fill = float(y.max()) if invalid_score is None else float(invalid_score)
    perm = np.random.default_rng(seed).permutation(len(x))
    test, train = perm[: len(x) // 10], perm[len(x) // 10 :]
    train_x, train_y = x[train], y[train]
    bounds = np.stack([train_x.min(0), train_x.max(0)])
    if progress:
        print(
            f"BO: fitting the {gp} GP on {len(train_x)} codes, then {iterations} iterations of "
            f"{batch} points",
            file=sys.stderr,
            flush=True,
        )
    model = fit_gp(train_x, train_y, kind=gp, seed=seed, **gp_kwargs)
    result = BOResult(gp_metrics=evaluate_gp(model, x[test], y[test]), invalid_score=fill)
    acquired, started = 0, time.perf_counter()
    for it in range(iterations):
        points = propose_batch(
            model, float(train_y.min()), bounds, q=batch, seed=seed * 1009 + it
        ).numpy()
        items, got, valid = _call_decoder(decode_and_score, points)
        result.rounds.append({"points": points, "items": items, "scores": got, "valid": valid})
        add = valid if invalid == "skip" else np.ones_like(valid)
        new_y = np.where(valid, got, fill)[add]
        train_x, train_y = np.concatenate([train_x, points[add]]), np.concatenate([train_y, new_y])
        acquired += int(add.sum())
        if progress:
            best = f"{sign * np.nanmin(got):.4g}" if valid.any() else "-"
            spent = time.perf_counter() - started
            left = spent / (it + 1) * (iterations - it - 1)
            print(
                f"BO iteration {it + 1}/{iterations}: {int(valid.sum())}/{batch} valid, "
                f"best {best} ({spent:.0f} s so far, ~{left:.0f} s left)",
                file=sys.stderr,
                flush=True,
            )
        if it + 1 < iterations and add.any():
            model = fit_gp(
                train_x, train_y, kind=gp, seed=seed + it + 1, keep_last=acquired, **gp_kwargs
            )
    return result


def summarise_runs(
    results: Sequence[BOResult], top: int = 3, worst_over: str = "run"
) -> dict[str, Any]:
    """Figure 2 row across seeds, as GrammarVAE's get_final_results.py computes it: the mean
    fraction valid; per run the average of the scores better than the worst score, taken over
    that run (``worst_over="run"``, molecules) or over all runs (``"all"``, expressions), then
    their mean and std over seeds (ddof=1; 0 for one run); the best ``top`` distinct valid items
    over all runs. ``mean_valid_score`` is raekit's plain mean over valid proposals. Runs
    without a score to average are left out of the means."""
    if not results:
        raise RaekitError("no BO runs to summarise")
    if worst_over not in WORST_OVER:
        raise unknown("worst-score scope", worst_over, WORST_OVER)
    worsts = [float(r.observed().max(initial=-np.inf)) for r in results]
    if worst_over == "all":
        worsts = [max(worsts)] * len(results)
    averages = np.array([r.mean_below(w) for r, w in zip(results, worsts)])
    averages = averages[~np.isnan(averages)]
    valid_means = np.array([r.mean_valid_score for r in results])
    valid_means = valid_means[~np.isnan(valid_means)]
    pairs = [p for r in results for p in r.valid_pairs()]
    return {
        "runs": len(results),
        "fraction_valid": float(np.mean([r.fraction_valid for r in results])),
        "mean_score": float(averages.mean()) if len(averages) else None,
        "std_score": float(averages.std(ddof=1)) if len(averages) > 1 else 0.0,
        "mean_valid_score": float(valid_means.mean()) if len(valid_means) else None,
        "top": [
            [str(i), s] for i, s in _unique_top([p[0] for p in pairs], [p[1] for p in pairs], top)
        ],
    }
