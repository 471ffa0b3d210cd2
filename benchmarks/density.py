"""Fit time and held-out log-likelihood of raekit's `gmm` against scikit-learn's GaussianMixture.

raekit's GMM runs scikit-learn's EM (same initialisation, same updates) and adds seeded sampling,
safetensors persistence and its own log-density; the figures show what that wrapper costs.
Usage: python benchmarks/density.py [--sizes 50000x16,200000x128] [--max-iter 100]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.mixture import GaussianMixture

from raekit.density import make_density


def synthetic_codes(n: int, d: int, seed: int = 0) -> np.ndarray:
    """A 10-cluster mixture with random full covariances: structure for EM to find."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(10, d))
    mixing = rng.normal(size=(10, d, d)) / np.sqrt(d)
    labels = rng.integers(0, 10, n)
    return centres[labels] + np.einsum("nd,nde->ne", rng.normal(size=(n, d)), mixing[labels])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50000x16,200000x128")
    parser.add_argument("--max-iter", type=int, default=100)
    args = parser.parse_args()
    print(f"{'codes':>12s} {'raekit s':>9s} {'sklearn s':>9s} {'ratio':>6s} {'raekit ll':>10s} {'sklearn ll':>10s}")
    for size in args.sizes.split(","):
        n, d = map(int, size.split("x"))
        codes = synthetic_codes(n + n // 10, d)
        train, test = codes[:n], codes[n:]
        start = time.perf_counter()
        ours = make_density("gmm", components=10, max_iter=args.max_iter, seed=0).fit(train)
        t_ours = time.perf_counter() - start
        start = time.perf_counter()
        ref = GaussianMixture(10, covariance_type="full", max_iter=args.max_iter, random_state=0).fit(train)
        t_ref = time.perf_counter() - start
        print(f"{n:>7d}x{d:<4d} {t_ours:9.2f} {t_ref:9.2f} {t_ours / t_ref:6.2f} {ours.score(test):10.4f} "
              f"{ref.score(test):10.4f}", flush=True)


if __name__ == "__main__":
    main()
