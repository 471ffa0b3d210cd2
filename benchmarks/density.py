"""Fit time and held-out log-likelihood of raekit's `gmm` against scikit-learn's GaussianMixture.

Both run 10 full-covariance components, tol 1e-3, reg_covar 1e-6, from the same start (the
M-step on one k-means labelling, passed to both as weights/means/precisions_init), in the same
process, so the times compare the EM loops alone; torch and numpy's BLAS get the same thread count.
Usage: python benchmarks/density.py [--cases 50000x16:100,200000x128:100] [--threads 2]
A case is NxD:MAX_ITER.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from raekit.density import make_density


def synthetic_codes(n: int, d: int, seed: int = 0) -> np.ndarray:
    """A 10-cluster mixture with random full covariances and unequal weights: structure for EM to find."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0 / np.sqrt(d), size=(10, d))  # ~4 sd apart: overlapping clusters
    mixing = rng.normal(size=(10, d, d)) / np.sqrt(d)
    labels = rng.choice(10, size=n, p=rng.dirichlet(np.full(10, 3.0)))
    codes = rng.normal(size=(n, d))
    for j in range(10):
        rows = labels == j
        codes[rows] = centres[j] + codes[rows] @ mixing[j]
    return codes


def kmeans_start(codes: np.ndarray, k: int = 10, seed: int = 0) -> dict:
    """scikit-learn's k-means initialisation, as explicit initial parameters."""
    labels = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(codes).labels_
    resp = np.eye(k)[labels]
    nk = resp.sum(0) + 10 * np.finfo(float).eps
    means = resp.T @ codes / nk[:, None]
    covs = np.stack(
        [(resp[:, j, None] * (codes - means[j])).T @ (codes - means[j]) / nk[j] for j in range(k)]
    )
    precisions = np.linalg.inv(covs + 1e-6 * np.eye(codes.shape[1]))
    return {"weights_init": nk / len(codes), "means_init": means, "precisions_init": precisions}


def run_case(n: int, d: int, max_iter: int) -> dict:
    codes = synthetic_codes(n + 20000, d)
    train, test = codes[:n], codes[n:]
    start = kmeans_start(train)
    t0 = time.perf_counter()
    ours = make_density("gmm", components=10, max_iter=max_iter, **start).fit(train)
    t_ours = time.perf_counter() - t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        ref = GaussianMixture(
            10, covariance_type="full", max_iter=max_iter, tol=1e-3, reg_covar=1e-6, **start
        ).fit(train)
        t_ref = time.perf_counter() - t0
    return dict(
        n=n,
        d=d,
        max_iter=max_iter,
        iters=(ours.n_iter_, ref.n_iter_),
        t_ours=t_ours,
        t_ref=t_ref,
        ll_ours=ours.score(test),
        ll_ref=ref.score(test),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", default="50000x16:100,200000x128:100")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)  # numpy's BLAS, used by scikit-learn
    print(f"threads: {args.threads}")
    print(
        f"{'codes':>11s} {'iters':>7s} {'raekit s':>9s} {'sklearn s':>9s} {'speed-up':>8s} "
        f"{'raekit ll':>11s} {'sklearn ll':>11s} {'rel diff':>8s}"
    )
    for case in args.cases.split(","):
        size, max_iter = case.split(":")
        n, d = map(int, size.split("x"))
        r = run_case(n, d, int(max_iter))
        iters = f"{r['iters'][0]}/{r['iters'][1]}"
        rel = abs(r["ll_ours"] - r["ll_ref"]) / abs(r["ll_ref"])
        print(
            f"{n:>6d}x{d:<4d} {iters:>7s} {r['t_ours']:9.2f} {r['t_ref']:9.2f} {r['t_ref'] / r['t_ours']:8.2f} "
            f"{r['ll_ours']:11.5f} {r['ll_ref']:11.5f} {rel:8.1e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
