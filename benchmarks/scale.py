"""Training throughput with 1 and N data-parallel CPU processes under torchrun; streaming GMM fit time.

Each configuration trains the `cpu` preset network on MNIST-shaped random images through
raekit.training.loop.train (the real loop: sharding, global batch norm, gradient all-reduce, checkpoints),
and the throughput of an epoch comes from the trainer's own per-epoch clock (validation excluded).
The first epoch warms up; the best later epoch counts. The cores are split evenly: one process
gets every core as threads, two processes half each.

The GMM part writes N x d synthetic 10-cluster codes to a .npy file and fits the 10-component GMM
from one shared start (k-means on the first 100k codes) three ways, each in a fresh process so the
peak memory is its own: raekit's streaming EM reading the file in chunks with 1 and with N
processes, and scikit-learn's GaussianMixture on the codes loaded into memory.
Usage: python benchmarks/scale.py [--procs 1,2] [--images 2000] [--epochs 3] [--model rae-l2]
                                  [--gmm 1000000x16] [--skip-train] [--skip-gmm]
"""

from __future__ import annotations

import argparse
import csv
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

SRC = str(Path(__file__).resolve().parents[1] / "src")


def worker(args: argparse.Namespace) -> None:
    """Runs in every process: train on seeded random images into args.out."""
    import numpy as np

    from raekit.config import make_config
    from raekit.training import train

    rng = np.random.default_rng(0)

    def images(n):
        return rng.integers(0, 256, size=(n, 1, 32, 32), dtype=np.uint8)

    data = SimpleNamespace(train=images(args.images), valid=images(args.valid), test=images(1))
    config = make_config(
        "mnist",
        args.model,
        "cpu",
        epochs=args.epochs,
        batch_size=args.batch_size,
        train_limit=None,
        valid_limit=None,
    )
    train(config, args.out, data=data, progress=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def measure(procs: int, args: argparse.Namespace, root: Path) -> dict:
    """Launch one configuration and read its per-epoch training seconds from metrics.csv."""
    out = root / f"procs-{procs}"
    threads = max(1, _cores() // procs)
    command = [
        sys.executable,
        __file__,
        "--worker",
        "--out",
        str(out),
        "--images",
        str(args.images),
        "--valid",
        str(args.valid),
        "--epochs",
        str(args.epochs),
        "--batch-size",
        str(args.batch_size),
        "--model",
        args.model,
    ]
    if procs > 1:
        command[1:1] = [
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={procs}",
            f"--master_port={_free_port()}",
        ]
    env = {
        **os.environ,
        "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "OMP_NUM_THREADS": str(threads),
        "PYTHONWARNINGS": "ignore",
    }
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{procs} process(es) failed:\n{result.stderr[-3000:]}")
    with open(out / "metrics.csv", newline="") as handle:
        seconds = [float(row["seconds"]) for row in csv.DictReader(handle)]
    trained = args.images // args.batch_size * args.batch_size
    best = min(seconds[1:] or seconds)
    return {
        "procs": procs,
        "threads": threads,
        "rate": trained / best,
        "epoch_s": best,
        "wall_s": wall,
    }


def gmm_worker(args: argparse.Namespace) -> None:
    """Runs in a fresh process (or every torchrun process): one GMM fit, its figures as JSON on stdout."""
    import json
    import resource

    import numpy as np

    start = dict(np.load(args.init_file))
    started = time.perf_counter()
    if args.gmm_worker == "sklearn":
        from sklearn.mixture import GaussianMixture

        codes = np.load(args.codes)
        fitted = GaussianMixture(10, tol=1e-3, reg_covar=1e-6, max_iter=100, **start).fit(codes)
        n_iter, loglik, rank = fitted.n_iter_, fitted.score(codes), 0
    else:
        from raekit import distributed
        from raekit.density.io import open_codes
        from raekit.density.streaming import fit_gmm_streaming, mean_log_likelihood

        ctx = distributed.setup()
        fitted = fit_gmm_streaming(args.codes, ctx, components=10, **start)
        n_iter, loglik, rank = (
            fitted.n_iter_,
            mean_log_likelihood(fitted, open_codes(args.codes)),
            ctx.rank,
        )
        distributed.teardown(ctx)
    seconds = time.perf_counter() - started
    if rank == 0:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            json.dumps(
                {
                    "seconds": seconds,
                    "n_iter": int(n_iter),
                    "loglik": float(loglik),
                    "peak_mb": peak_mb,
                }
            )
        )


def measure_gmm(kind: str, procs: int, codes: Path, start: Path) -> dict:
    import json

    threads = max(1, _cores() // procs)
    command = [
        sys.executable,
        __file__,
        "--gmm-worker",
        kind,
        "--codes",
        str(codes),
        "--init-file",
        str(start),
    ]
    if procs > 1:
        command[1:1] = [
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={procs}",
            f"--master_port={_free_port()}",
        ]
    env = {
        **os.environ,
        "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "OMP_NUM_THREADS": str(threads),
        "PYTHONWARNINGS": "ignore",
    }
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"GMM fit ({kind}, {procs} process(es)) failed:\n{result.stderr[-3000:]}")
    return {
        "kind": kind,
        "procs": procs,
        "threads": threads,
        **json.loads(result.stdout.strip().splitlines()[-1]),
    }


def gmm_table(size: str, procs: list[int]) -> None:
    import numpy as np

    sys.path.insert(0, str(Path(__file__).parent))
    from density import kmeans_start, synthetic_codes

    n, d = map(int, size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        codes, start = Path(tmp) / "codes.npy", Path(tmp) / "start.npz"
        np.save(codes, synthetic_codes(n, d))
        np.savez(start, **kmeans_start(np.load(codes, mmap_mode="r")[:100_000]))
        rows = [measure_gmm("streaming", p, codes, start) for p in procs]
        rows.append(measure_gmm("sklearn", 1, codes, start))
    base = rows[-1]["seconds"]
    print(f"\n10-component GMM on {n} x {d} codes (file {n * d * 8 / 2**20:.0f} MB), same start")
    print(
        f"{'fit':>22} {'seconds':>8} {'vs sklearn':>10} {'iters':>5} {'mean loglik':>12} {'peak MB':>8}"
    )
    for r in rows:
        name = f"{r['kind']} x{r['procs']}" if r["kind"] == "streaming" else "scikit-learn (memory)"
        print(
            f"{name:>22} {r['seconds']:>8.1f} {base / r['seconds']:>10.2f} {r['n_iter']:>5} "
            f"{r['loglik']:>12.6f} {r['peak_mb']:>8.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", default="1,2", help="comma-separated process counts")
    parser.add_argument("--images", type=int, default=2000, help="training images per epoch")
    parser.add_argument("--valid", type=int, default=200, help="validation images")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--batch-size", type=int, default=100, help="global batch (split over processes)"
    )
    parser.add_argument("--model", default="rae-l2")
    parser.add_argument("--gmm", default="1000000x16", help="N x d codes for the GMM fits")
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--skip-gmm", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--gmm-worker", choices=("streaming", "sklearn"), help=argparse.SUPPRESS)
    parser.add_argument("--codes", help=argparse.SUPPRESS)
    parser.add_argument("--init-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if args.gmm_worker:
        gmm_worker(args)
        return
    procs = [int(p) for p in args.procs.split(",")]
    if not args.skip_train:
        training_table(args, procs)
    if not args.skip_gmm:
        gmm_table(args.gmm, procs)


def training_table(args: argparse.Namespace, procs: list[int]) -> None:
    import torch

    print(
        f"cpu preset, {args.model}, {args.images} MNIST-shaped images, global batch {args.batch_size}, "
        f"{_cores()} core(s), torch {torch.__version__}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(p, args, Path(tmp)) for p in procs]
    base = rows[0]["rate"]
    print(
        f"{'procs':>5} {'threads/proc':>12} {'epoch s':>8} {'images/s':>9} {'vs first':>8} {'wall s':>7}"
    )
    for r in rows:
        print(
            f"{r['procs']:>5} {r['threads']:>12} {r['epoch_s']:>8.2f} {r['rate']:>9.1f} "
            f"{r['rate'] / base:>8.2f} {r['wall_s']:>7.1f}"
        )


if __name__ == "__main__":
    main()
