"""Precision and recall for distributions (PRD; Sajjadi et al., NeurIPS 2018).

Both feature sets are clustered together; each becomes a histogram over the clusters. For a slope
l = tan(angle), precision(l) = sum_i min(l * ref_i, eval_i) and recall(l) = precision(l) / l;
the curve is averaged over several clusterings. Summaries: F_beta (recall-weighted) and F_1/beta.
"""

from __future__ import annotations

import numpy as np

from raekit.errors import RaekitError
from raekit.io.progress import progress

_ANGLE_MARGIN = 1e-10  # keep the angles strictly inside (0, pi/2), where tan is finite and positive


def _check_inputs(eval_features, ref_features) -> tuple[np.ndarray, np.ndarray]:
    ev, ref = np.asarray(eval_features, np.float64), np.asarray(ref_features, np.float64)
    for name, arr in (("eval features", ev), ("reference features", ref)):
        if arr.ndim != 2 or arr.shape[0] == 0:
            raise RaekitError(
                f"{name} must be a non-empty 2-D array (samples, dim), got shape {arr.shape}"
            )
        if not np.isfinite(arr).all():
            raise RaekitError(f"{name} contain NaN or Inf values")
    if ev.shape[1] != ref.shape[1]:
        raise RaekitError(
            f"feature dimensions differ: {ev.shape[1]} (eval) vs {ref.shape[1]} (reference)"
        )
    return ev, ref


def cluster_histograms(
    ev: np.ndarray, ref: np.ndarray, num_clusters: int, seed: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster the union with MiniBatchKMeans; return both sets' normalised cluster histograms."""
    # slow to import; only this path needs it
    from sklearn.cluster import MiniBatchKMeans

    kmeans = MiniBatchKMeans(n_clusters=num_clusters, n_init=10, random_state=seed)
    labels = kmeans.fit_predict(np.concatenate([ev, ref]))
    eval_hist = np.bincount(labels[: len(ev)], minlength=num_clusters) / len(ev)
    ref_hist = np.bincount(labels[len(ev) :], minlength=num_clusters) / len(ref)
    return eval_hist, ref_hist


def prd_from_histograms(
    eval_hist, ref_hist, num_angles: int = 1001
) -> tuple[np.ndarray, np.ndarray]:
    """The PRD curve of two histograms over the same bins, at `num_angles` slopes in (0, pi/2)."""
    if num_angles < 3:
        raise RaekitError(f"num_angles must be at least 3, got {num_angles}")
    eval_hist, ref_hist = np.asarray(eval_hist, np.float64), np.asarray(ref_hist, np.float64)
    angles = np.linspace(_ANGLE_MARGIN, np.pi / 2 - _ANGLE_MARGIN, num_angles)
    slopes = np.tan(angles)[:, None]
    precision = np.minimum(slopes * ref_hist[None, :], eval_hist[None, :]).sum(axis=1)
    recall = precision / slopes[:, 0]
    return np.clip(precision, 0.0, 1.0), np.clip(recall, 0.0, 1.0)


def prd(
    eval_features,
    ref_features,
    num_clusters: int = 20,
    num_angles: int = 1001,
    num_runs: int = 10,
    enforce_balance: bool = True,
    seed: int | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """PRD curve (precision, recall), each (num_angles,), averaged over `num_runs` clusterings."""
    ev, ref = _check_inputs(eval_features, ref_features)
    if num_angles < 3:
        raise RaekitError(f"num_angles must be at least 3, got {num_angles}")
    if enforce_balance and len(ev) != len(ref):
        raise RaekitError(
            f"PRD needs as many eval as reference samples ({len(ev)} vs {len(ref)}); "
            "pass enforce_balance=False to allow it"
        )
    if num_clusters < 1 or num_clusters > len(ev) + len(ref):
        raise RaekitError(f"num_clusters must be in [1, {len(ev) + len(ref)}], got {num_clusters}")
    if num_runs < 1:
        raise RaekitError(f"num_runs must be at least 1, got {num_runs}")
    curves = []
    for run in progress(range(num_runs), desc=f"PRD ({num_clusters} clusters)", unit="run"):
        run_seed = None if seed is None else seed + run
        curves.append(
            prd_from_histograms(*cluster_histograms(ev, ref, num_clusters, run_seed), num_angles)
        )
    precision = np.mean([p for p, _ in curves], axis=0)
    recall = np.mean([r for _, r in curves], axis=0)
    return precision, recall


def _f_beta(precision: np.ndarray, recall: np.ndarray, beta: float) -> np.ndarray:
    denom = beta**2 * precision + recall
    safe = np.where(denom > 0, denom, 1.0)
    return np.where(denom > 0, (1 + beta**2) * precision * recall / safe, 0.0)


def prd_f_beta(precision, recall, beta: float = 8) -> tuple[float, float]:
    """(max F_beta, max F_1/beta) over the curve; F is 0 where precision and recall are both 0."""
    p, r = np.asarray(precision, np.float64), np.asarray(recall, np.float64)
    if p.shape != r.shape or p.ndim != 1 or p.size == 0:
        raise RaekitError(
            f"precision and recall must be 1-D curves of equal length, got {p.shape} and {r.shape}"
        )
    if (
        not (np.isfinite(p).all() and np.isfinite(r).all())
        or p.min() < 0
        or r.min() < 0
        or p.max() > 1
        or r.max() > 1
    ):
        raise RaekitError("precision and recall values must lie in [0, 1]")
    if not beta > 0:
        raise RaekitError(f"beta must be positive, got {beta}")
    return float(_f_beta(p, r, beta).max()), float(_f_beta(p, r, 1.0 / beta).max())
