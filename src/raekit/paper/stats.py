"""The statistics behind the claim checks and the orderings.

One comparison "a is better than factor x b" on per-seed numbers is a one-sided Welch t-test of the
seed means (unequal variances) with Hsu's conservative degrees of freedom min(n_a, n_b) - 1: the
Welch-Satterthwaite degrees of freedom exceed the nominal 5% false-positive rate at 3 seeds when
the variances differ, the conservative ones never do (tests/test_claim_stats.py simulates it). The
parts of one claim are Holm-corrected together. Fewer than MIN_SEEDS seeds on either side decide
nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as _stats

ALPHA = 0.05
MIN_SEEDS = 3


def welch_p(
    a: Sequence[float], b: Sequence[float], factor: float = 1.0, lower_is_better: bool = True
) -> tuple[float, float] | None:
    """One-sided p-values (a better than factor*b, a worse than factor*b) of Welch's statistic
    with min(n_a, n_b) - 1 degrees of freedom; None below MIN_SEEDS values on a side."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < MIN_SEEDS or len(b) < MIN_SEEDS:
        return None
    gap = factor * b.mean() - a.mean() if lower_is_better else a.mean() - factor * b.mean()
    se = math.sqrt(a.var(ddof=1) / len(a) + factor**2 * b.var(ddof=1) / len(b))
    if se == 0.0:  # no spread at all: the sign of the gap decides
        return (0.0, 1.0) if gap > 0 else (1.0, 0.0) if gap < 0 else (1.0, 1.0)
    df = min(len(a), len(b)) - 1
    t = gap / se
    return float(_stats.t.sf(t, df)), float(_stats.t.sf(-t, df))


def holm(pvalues: Sequence[float | None], alpha: float = ALPHA) -> list[bool]:
    """Holm's step-down rejections at family-wise level `alpha` (None: not tested, never rejected)."""
    tested = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    rejected = [False] * len(pvalues)
    for rank, (p, index) in enumerate(tested):
        if p > alpha / (len(tested) - rank):
            break
        rejected[index] = True
    return rejected


def average_ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks 1..n, ties sharing the mean of the ranks they span."""
    values = np.asarray(values, np.float64)
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and values[order[end + 1]] == values[order[start]]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation: Pearson's correlation of the average ranks; None when fewer
    than two pairs or when either side is constant."""
    if len(x) != len(y):
        raise ValueError("spearman needs two sequences of equal length")
    if len(x) < 2:
        return None
    rx, ry = average_ranks(x), average_ranks(y)
    dx, dy = rx - rx.mean(), ry - ry.mean()
    norm = math.sqrt(float((dx**2).sum() * (dy**2).sum()))
    return None if norm == 0 else float((dx * dy).sum() / norm)
