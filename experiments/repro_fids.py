"""What the experiments share: every finished run of a `raekit reproduce` folder, scored by FID
against its dataset's test set with the classifier features of Table 1.

    args, results, fid = over_runs(__doc__, per_run)

runs per_run(run, data, fid, n, seed) -> {name: number} on each finished MODEL/seedK run of the
seeds asked for, printing each result as it comes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

from raekit.data import load_images
from raekit.metrics import feature_statistics, frechet_distance_from_stats, get_extractor
from raekit.runs import is_finished, load_run


class FIDAgainstTest:
    """FID of images against the first n test images (their statistics computed once)."""

    def __init__(self, dataset: str, data, n: int):
        self.extractor = get_extractor("classifier", dataset=dataset, data=data)
        self.name = self.extractor.name
        self.reference = feature_statistics(self.extractor(data.test[:n]))

    def __call__(self, images: np.ndarray) -> float:
        stats = feature_statistics(self.extractor(images))
        return frechet_distance_from_stats(*stats, *self.reference)


def over_runs(
    doc: str, per_run: Callable[..., dict]
) -> tuple[argparse.Namespace, dict, FIDAgainstTest]:
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("repro", type=Path, help="a `raekit reproduce` folder (MODEL/seedK runs)")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    runs = sorted(
        r for r in args.repro.glob("*/seed*") if int(r.name[4:]) in seeds and is_finished(r)
    )
    dataset = load_run(runs[0])[1].dataset
    data = load_images(dataset, None)
    fid = FIDAgainstTest(dataset, data, args.n)
    results = {}
    for run in runs:
        key = f"{run.parent.name}/{run.name}"
        results[key] = per_run(run, data, fid, args.n, int(run.name[4:]))
        print(key, {k: round(v, 2) for k, v in results[key].items()}, flush=True)
    return args, results, fid
