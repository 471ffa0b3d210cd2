"""Training throughput (images/s) with 1 and with N data-parallel CPU processes under torchrun.

Each configuration trains the `cpu` preset network on MNIST-shaped random images through
raekit.train.train (the real loop: sharding, global batch norm, gradient all-reduce, checkpoints),
and the throughput of an epoch comes from the trainer's own per-epoch clock (validation excluded).
The first epoch warms up; the best later epoch counts. The cores are split evenly: one process
gets every core as threads, two processes half each.
Usage: python benchmarks/scale.py [--procs 1,2] [--images 2000] [--epochs 3] [--model rae-l2]
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
    from raekit.train import train

    rng = np.random.default_rng(0)

    def images(n):
        return rng.integers(0, 256, size=(n, 1, 32, 32), dtype=np.uint8)
    data = SimpleNamespace(train=images(args.images), valid=images(args.valid), test=images(1))
    config = make_config("mnist", args.model, "cpu", epochs=args.epochs, batch_size=args.batch_size,
                         train_limit=None, valid_limit=None)
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
    command = [sys.executable, __file__, "--worker", "--out", str(out), "--images", str(args.images),
               "--valid", str(args.valid), "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
               "--model", args.model]
    if procs > 1:
        command[1:1] = ["-m", "torch.distributed.run", f"--nproc_per_node={procs}", f"--master_port={_free_port()}"]
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": str(threads), "PYTHONWARNINGS": "ignore"}
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{procs} process(es) failed:\n{result.stderr[-3000:]}")
    with open(out / "metrics.csv", newline="") as handle:
        seconds = [float(row["seconds"]) for row in csv.DictReader(handle)]
    trained = args.images // args.batch_size * args.batch_size
    best = min(seconds[1:] or seconds)
    return {"procs": procs, "threads": threads, "rate": trained / best, "epoch_s": best, "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", default="1,2", help="comma-separated process counts")
    parser.add_argument("--images", type=int, default=2000, help="training images per epoch")
    parser.add_argument("--valid", type=int, default=200, help="validation images")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100, help="global batch (split over processes)")
    parser.add_argument("--model", default="rae-l2")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    import torch

    print(f"cpu preset, {args.model}, {args.images} MNIST-shaped images, global batch {args.batch_size}, "
          f"{_cores()} core(s), torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(int(p), args, Path(tmp)) for p in args.procs.split(",")]
    base = rows[0]["rate"]
    print(f"{'procs':>5} {'threads/proc':>12} {'epoch s':>8} {'images/s':>9} {'vs first':>8} {'wall s':>7}")
    for r in rows:
        print(f"{r['procs']:>5} {r['threads']:>12} {r['epoch_s']:>8.2f} {r['rate']:>9.1f} "
              f"{r['rate'] / base:>8.2f} {r['wall_s']:>7.1f}")


if __name__ == "__main__":
    main()
