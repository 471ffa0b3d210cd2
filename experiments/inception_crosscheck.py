"""Inception cross-check: the finished runs of one seed of a `raekit reproduce` folder scored with
the paper's metric (TF-Inception FID, n samples against the first n test images) beside raekit's
classifier FID, on the same images, with each feature space's real-vs-real floor (n training
images against the n test images) and Spearman's rho against the paper per feature space.

    raekit fetch inception
    OMP_NUM_THREADS=1 python experiments/inception_crosscheck.py runs/mnist-converged \\
        --columns N,GMM --out results/mnist-inception-crosscheck

--columns N,GMM (the default) covers the ex-post densities; REC,N,GMM,Interp doubles the cost.
Writes OUT/crosscheck.csv (model, column, features, fid), OUT/floor.csv, OUT/spearman.csv and
OUT/crosscheck.json with the command. Resumable: OUT/cache/ keeps the reference and floor
statistics and each finished column's FIDs, so running it again (after a stop, or once more runs
have finished) computes only what is missing.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from raekit.data import load_images
from raekit.io.atomic import atomic_write_text
from raekit.io.jsonio import write_json
from raekit.metrics import get_extractor
from raekit.metrics.classifier import CLASSIFIER_DIR
from raekit.paper import crosscheck as cc
from raekit.paper.learning_curves import csv_text
from raekit.paper.reported import TABLE1, TABLE1_MODELS
from raekit.runs import is_finished, read_config


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("repro", type=Path, help="a `raekit reproduce` folder (MODEL/seedK runs)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=10_000, help="samples per FID (paper: 10000)")
    p.add_argument("--columns", default="N,GMM", help="of REC, N, GMM, Interp")
    p.add_argument("--features", default="classifier,inception", help="feature spaces")
    p.add_argument("--paper", help="the paper's table to rank against (default: the dataset's)")
    p.add_argument("--models", default=",".join(TABLE1_MODELS))
    return p.parse_args(argv)


def finished_runs(repro: Path, seed: int, models) -> dict[str, Path]:
    found = {m: repro / m / f"seed{seed}" for m in models}
    return {m: d for m, d in found.items() if (d / "config.yaml").is_file() and is_finished(d)}


def main(argv=None, extractors=None) -> int:
    """`extractors` ({name: images -> features}) replaces --features (for tests)."""
    args = parse(argv)
    columns = [c for c in args.columns.split(",") if c]
    bad = [c for c in columns if c not in cc.COLUMNS]
    run_dirs = finished_runs(args.repro, args.seed, [m for m in args.models.split(",") if m])
    if bad or not run_dirs:
        what = f"unknown column {bad[0]}" if bad else f"no finished run of seed {args.seed}"
        print(f"inception_crosscheck: {what} in {args.repro}", file=sys.stderr)
        return 2
    config = read_config(next(iter(run_dirs.values())))
    dataset = config.dataset
    paper = args.paper or dataset
    if paper not in TABLE1:
        print(f"inception_crosscheck: --paper must be one of {', '.join(TABLE1)}", file=sys.stderr)
        return 2
    data = load_images(dataset, config.data_root)
    n = min(args.n, len(data.test), len(data.train))
    if extractors is None:
        names = [f for f in args.features.split(",") if f]
        pinned = args.repro / CLASSIFIER_DIR  # the classifier the reproduction was scored with
        pin = {"pinned": pinned} if pinned.is_dir() else {}
        extractors = {
            f: get_extractor(f, dataset=dataset, data=data, **(pin if f == "classifier" else {}))
            for f in names
        }
    scorer = cc.Scorer(extractors, data.test[:n], cache=args.out / "cache")
    floor = cc.floor(scorer, data.train[:n])
    print("real-vs-real floor: " + ", ".join(f"{k} {v:.2f}" for k, v in floor.items()), flush=True)
    cache = cc.ScoreCache(args.out / "cache" / "scores.json")
    rows = cc.score_runs(run_dirs, scorer, columns, n, args.seed, data, cache=cache)
    rhos = cc.orderings(rows, paper)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "crosscheck.csv", csv_text(rows))
    atomic_write_text(
        args.out / "floor.csv", csv_text([{"features": k, "fid": v} for k, v in floor.items()])
    )
    atomic_write_text(args.out / "spearman.csv", csv_text(rhos))
    command = "python experiments/inception_crosscheck.py " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    summary = {"command": command, "n": n, "paper_table": paper, "floor": floor, "fid": rows}
    write_json(args.out / "crosscheck.json", {**summary, "spearman": rhos})
    for r in rhos:
        rho = "-" if r["spearman"] is None else f"{r['spearman']:.2f}"
        print(f"{r['features']:>12} {r['column']:<6} rho {rho} ({r['models']} models)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
