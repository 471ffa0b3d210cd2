"""EM for a full-covariance Gaussian mixture in torch float64, with scikit-learn's update equations.

One iteration = E-step statistics over chunks of codes (`e_step_stats`), then a closed-form M-step
from those sums alone (`m_step`). Because the M-step only needs the sums, a data-parallel fit can
all-reduce an `EStats` across workers before calling `m_step`, and nothing else changes.

The updates and the stopping rule are scikit-learn's GaussianMixture (full covariance):
  N_k = sum_n r_nk + 10 eps,  mu_k = sum_n r_nk x_n / N_k,
  Sigma_k = sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T / N_k + reg_covar I,  pi_k = N_k / sum_j N_j,
and EM stops once the mean log-likelihood computed in the E-step changes by less than `tol`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from functools import partial
from typing import NamedTuple

import torch

from raekit.errors import RaekitError
from raekit.io.progress import progress

EPS10 = 10 * torch.finfo(torch.float64).eps  # scikit-learn's guard against empty components


class Mixture(NamedTuple):
    """Mixture parameters; `prec_chol[k]` is U with U U^T = inverse covariance of component k."""

    weights: torch.Tensor  # (K,)
    means: torch.Tensor  # (K, d)
    covariances: torch.Tensor  # (K, d, d)
    prec_chol: torch.Tensor  # (K, d, d)


class EStats(NamedTuple):
    """Sufficient statistics of one E-step; every field is a sum over codes, so they add up across workers."""

    resp_sum: torch.Tensor  # (K,)   sum_n r_nk
    weighted_sum: torch.Tensor  # (K, d) sum_n r_nk x_n
    weighted_outer: torch.Tensor  # (K, d, d) sum_n r_nk x_n x_n^T
    loglik_sum: torch.Tensor  # ()     sum_n log p(x_n)
    count: int  # number of codes


def precision_cholesky(covariances: torch.Tensor) -> torch.Tensor:
    """U_k = L_k^{-T} where Sigma_k = L_k L_k^T, so that U_k U_k^T = Sigma_k^{-1}."""
    chol, info = torch.linalg.cholesky_ex(covariances)
    if int(info.max()) > 0:
        bad = int(torch.nonzero(info)[0, 0])
        raise RaekitError(
            f"GMM component {bad} has a singular covariance (collapsed codes); "
            "use fewer components or a larger reg_covar"
        )
    eye = torch.eye(covariances.shape[-1], dtype=covariances.dtype).expand_as(covariances)
    return torch.linalg.solve_triangular(chol, eye, upper=False).mT


def from_covariances(weights, means, covariances) -> Mixture:
    return Mixture(weights, means, covariances, precision_cholesky(covariances))


def component_log_prob(x: torch.Tensor, mix: Mixture) -> torch.Tensor:
    """(n, K): log pi_k + log N(x_n; mu_k, Sigma_k), all components in one matrix product."""
    k, d = mix.means.shape
    u_all = mix.prec_chol.permute(1, 0, 2).reshape(d, k * d)  # [U_1 ... U_K] side by side
    shift = torch.einsum("kd,kde->ke", mix.means, mix.prec_chol).reshape(k * d)
    y = torch.addmm(-shift, x, u_all).square_()  # (x - mu_k) U_k for every k, squared in place
    log_det = torch.log(torch.diagonal(mix.prec_chol, dim1=-2, dim2=-1)).sum(
        -1
    )  # = -1/2 log|Sigma_k|
    return (
        -0.5 * (d * math.log(2 * math.pi) + y.view(-1, k, d).sum(-1))
        + log_det
        + torch.log(mix.weights)
    )


def chunk_size(k: int, d: int, budget: int = 1 << 23) -> int:
    """Codes per chunk: 2048 (measured fastest: intermediates stay in cache), fewer when a
    (chunk, K*d) intermediate would exceed `budget` doubles (64 MB)."""
    return max(64, min(2048, budget // max(1, k * d)))


def log_density(x: torch.Tensor, mix: Mixture, chunk: int | None = None) -> torch.Tensor:
    """(n,) log p(x_n) under the mixture, computed chunk by chunk."""
    chunk = chunk or chunk_size(*mix.means.shape)
    return torch.cat([torch.logsumexp(component_log_prob(part, mix), 1) for part in x.split(chunk)])


def weighted_stats(
    x: torch.Tensor, resp: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(sum_n r_nk, sum_n r_nk x_n, sum_n r_nk x_n x_n^T) for one chunk of codes and responsibilities."""
    m, k, d = len(x), resp.shape[1], x.shape[1]
    # x^T [r_1 x, ..., r_K x]: all K weighted outer-product sums in one matrix product (no transposed copy).
    scaled = (resp[:, :, None] * x[:, None, :]).view(m, k * d)
    outer = (x.T @ scaled).view(d, k, d).permute(1, 0, 2)  # [i, k, j] -> [k, i, j]
    return resp.sum(0), resp.T @ x, outer


def e_step_stats(x: torch.Tensor, mix: Mixture, chunk: int | None = None) -> EStats:
    """Responsibility-weighted sums over all codes (the only pass over the data per iteration)."""
    return accumulate_stats(x.split(chunk or chunk_size(*mix.means.shape)), mix)


def accumulate_stats(chunks: Iterable[torch.Tensor], mix: Mixture) -> EStats:
    """`e_step_stats` over chunks from any source (a tensor's slices, a file read piece by piece)."""
    k, d = mix.means.shape
    total = [
        torch.zeros(k, dtype=mix.means.dtype),
        torch.zeros(k, d, dtype=mix.means.dtype),
        torch.zeros(k, d, d, dtype=mix.means.dtype),
    ]
    loglik, count = torch.zeros((), dtype=mix.means.dtype), 0
    for part in chunks:
        log_prob = component_log_prob(part, mix)
        norm = torch.logsumexp(log_prob, 1, keepdim=True)
        loglik += norm.sum()
        count += len(part)
        for acc, value in zip(total, weighted_stats(part, torch.exp(log_prob - norm))):
            acc += value
    return EStats(*total, loglik, count)


def m_step(stats: EStats, reg_covar: float) -> Mixture:
    """scikit-learn's M-step from the sums: N_k (+10 eps), means, covariances (+ reg_covar I), weights."""
    nk = stats.resp_sum + EPS10
    means = stats.weighted_sum / nk[:, None]
    # Expanding sum r (x - mu)(x - mu)^T / N_k gives S2 / N_k - (2 - sum r / N_k) mu mu^T exactly
    # (the 10 eps in N_k included). Callers centre the codes, so this subtraction cancels little in float64.
    outer = means[:, :, None] * means[:, None, :]
    cov = (
        stats.weighted_outer / nk[:, None, None] - (2 - stats.resp_sum / nk)[:, None, None] * outer
    )
    cov = 0.5 * (cov + cov.mT) + reg_covar * torch.eye(means.shape[1], dtype=means.dtype)
    return from_covariances(nk / nk.sum(), means, cov)


class EMResult(NamedTuple):
    mixture: Mixture
    n_iter: int
    converged: bool
    lower_bound: float  # mean log-likelihood at the last E-step (scikit-learn's lower_bound_)
    lower_bounds: list[float]  # one per iteration


def run_em(
    x,
    init: Mixture,
    max_iter: int = 100,
    tol: float = 1e-3,
    reg_covar: float = 1e-6,
    chunk: int | None = None,
    reduce: Callable[[EStats], EStats] | None = None,
) -> EMResult:
    """EM from `init` until |change in mean log-likelihood| < tol or max_iter iterations.

    `x` is an (n, d) tensor, or a function that returns a fresh iterable of chunks on each call
    (one pass over data that need not fit in memory). `reduce` combines the statistics of all
    workers (an all-reduce sum) before the M-step.
    """
    passes = x if callable(x) else partial(x.split, chunk or chunk_size(*init.means.shape))
    mix, lower_bound, history = init, -math.inf, []
    with progress(
        range(1, max_iter + 1), desc=f"GMM EM, {len(init.weights)} components", unit="iter"
    ) as bar:
        for n_iter in bar:
            stats = accumulate_stats(passes(), mix)
            if reduce is not None:
                stats = reduce(stats)
            if stats.count == 0:
                raise RaekitError("EM got no codes")
            mix = m_step(stats, reg_covar)
            previous, lower_bound = lower_bound, float(stats.loglik_sum) / stats.count
            history.append(lower_bound)
            bar.set_postfix(loglik=f"{lower_bound:.4f}", refresh=False)
            if abs(lower_bound - previous) < tol:
                return EMResult(mix, n_iter, True, lower_bound, history)
    return EMResult(mix, max_iter, False, lower_bound, history)
