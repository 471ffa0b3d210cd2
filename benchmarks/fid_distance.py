"""Seconds of the Fréchet distance between 2048-d statistics (Inception's pool features):
raekit's symmetric eigen-decompositions against pytorch-fid's procedure (scipy's sqrtm of
S1 S2, retried with 1e-6 I on both factors if singular), on the same statistics, same process.

Usage: python benchmarks/fid_distance.py [--samples 10000,1000] [--dim 2048] [--repeats 3]
Each sample count gives one line: both times (median), their ratio and the relative difference.
Fewer samples than dimensions make the covariances singular, the case the retry is for.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
from scipy import linalg

from raekit.metrics import feature_statistics, frechet_distance_from_stats


def sqrtm_fid(mu1, s1, mu2, s2) -> float:
    """pytorch-fid's calculate_frechet_distance, restated."""
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(s1)) * 1e-6
        covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean.real))


def features(n: int, dim: int, seed: int) -> np.ndarray:
    """Non-negative, correlated features with a decaying spectrum, like pooled ReLU activations."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(dim, dim)) / np.sqrt(dim) * np.linspace(1, 0.01, dim)
    return np.maximum(rng.normal(size=(n, dim)) @ mixing + 0.3, 0)


def median_seconds(fn, repeats: int) -> tuple[float, float]:
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", default="10000,1000")
    p.add_argument("--dim", type=int, default=2048)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    for n in (int(s) for s in args.samples.split(",")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the singular-covariance warning of small n
            stats = (*feature_statistics(features(n, args.dim, 0)),
                     *feature_statistics(features(n, args.dim, 1) * 1.1))  # fmt: skip
        t_ref, ref = median_seconds(lambda: sqrtm_fid(*stats), args.repeats)  # noqa: B023
        t_new, new = median_seconds(lambda: frechet_distance_from_stats(*stats), args.repeats)  # noqa: B023
        print(
            f"n={n:6d} dim={args.dim}  sqrtm {t_ref:7.2f} s  raekit {t_new:6.2f} s  "
            f"{t_ref / t_new:5.1f}x  FID {new:.6g}  rel diff {abs(new - ref) / abs(ref):.1e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
