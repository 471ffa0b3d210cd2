"""The GMM on codes too many for memory or for one process: exact EM over mini-batches.

Each EM iteration, every rank reads its own block of the codes chunk by chunk (from an array or a
memory-mapped .npy file written by `raekit.generation.codes.encode_to_file`), sums the E-step statistics and
all-reduces the sums; the M-step then runs on identical sums everywhere. These are the sums of
full-batch EM, so the fit is scikit-learn's GaussianMixture from the same start, whatever the
world size or chunk size. The k-means start is computed on rank 0 from at most `init_sample`
codes (all of them when there are fewer, which reproduces `GMMDensity.fit`) and broadcast.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import torch

from raekit import distributed
from raekit.density import em
from raekit.density.base import as_codes
from raekit.density.gmm import GMMDensity, centre_of, shifted
from raekit.density.io import open_codes
from raekit.distributed import Context
from raekit.errors import RaekitError


def fit_gmm_streaming(
    codes, ctx: Context | None = None, chunk: int = 8192, init_sample: int = 100_000, **options
) -> GMMDensity:
    """A fitted GMMDensity (`options` as GMMDensity's) from an (N, d) array or a .npy file path."""

    ctx = ctx or Context()
    source = open_codes(codes) if isinstance(codes, (str, Path)) else as_codes(codes)
    gmm = GMMDensity(**options)
    gmm.check_count(len(source))
    start = _shared_start(gmm, source, init_sample, ctx)
    shift = centre_of(start)
    rows = distributed.block(len(source), ctx)
    passes = partial(_chunks, source, rows, int(chunk), shift)
    result = em.run_em(
        passes, shifted(start, -shift), *gmm.em_options(), reduce=partial(_all_reduce, ctx)
    )
    gmm.set_result(result, shift)
    return gmm


def mean_log_likelihood(density: GMMDensity, codes: np.ndarray, chunk: int = 8192) -> float:
    """Mean log-likelihood of codes that need not fit in memory (a memory map), chunk by chunk."""
    total = sum(
        float(density.score_samples(codes[i : i + chunk]).sum())
        for i in range(0, len(codes), chunk)
    )
    return total / len(codes)


def _shared_start(
    gmm: GMMDensity, source: np.ndarray, init_sample: int, ctx: Context
) -> em.Mixture:
    """Rank 0's initial mixture on every rank (k-means need not agree bitwise across processes)."""
    k, d = gmm.options["components"], source.shape[1]
    if ctx.is_main:
        index = np.arange(len(source))
        if len(source) > init_sample:
            rng = np.random.default_rng(gmm.options["seed"])
            index = np.sort(rng.choice(len(source), init_sample, replace=False))
        subset = torch.from_numpy(_checked(source[index], index))
        weights, means, covariances = gmm.initial_mixture(subset)[:3]
    else:
        weights, means = torch.empty(k, dtype=torch.float64), torch.empty(k, d, dtype=torch.float64)
        covariances = torch.empty(k, d, d, dtype=torch.float64)
    shared = (distributed.broadcast(ctx, t) for t in (weights, means, covariances))
    return em.from_covariances(*shared)


def _chunks(source: np.ndarray, rows: range, chunk: int, shift: torch.Tensor):
    """This rank's rows as float64 tensors minus `shift`, `chunk` rows at a time, read on demand."""
    for start in range(rows.start, rows.stop, chunk):
        stop = min(start + chunk, rows.stop)
        yield torch.from_numpy(_checked(source[start:stop], range(start, stop))) - shift


def _checked(rows: np.ndarray, numbers) -> np.ndarray:
    """float64 copy of some rows (memory maps are read-only); `numbers` are their row numbers."""
    array = np.array(rows, dtype=np.float64)
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        raise RaekitError(f"codes row {numbers[int(np.argmax(bad))]} holds NaN or Inf")
    return array


def _all_reduce(ctx: Context, stats: em.EStats) -> em.EStats:
    """Sum the statistics over ranks in one message."""
    if not ctx.distributed:
        return stats
    parts = [
        stats.resp_sum,
        stats.weighted_sum,
        stats.weighted_outer,
        stats.loglik_sum,
        torch.tensor(float(stats.count), dtype=torch.float64),
    ]
    flat = distributed.all_reduce_sum(ctx, torch.cat([p.reshape(-1) for p in parts]))
    sizes = [p.numel() for p in parts]
    resp, weighted, outer, loglik, count = (
        piece.view(p.shape) for piece, p in zip(flat.split(sizes), parts)
    )
    return em.EStats(resp, weighted, outer, loglik, int(count))
