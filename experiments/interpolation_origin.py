"""Interp. FID of a reproduction's runs with three midpoint rules on the same validation pairs:
slerp of the raw codes (the paper's evaluation and raekit's Interp. column), slerp about the
training codes' mean, and linear. Codes of models without a prior need not be centred at zero,
and slerp about zero then treats them as nearly parallel.

    python experiments/interpolation_origin.py runs/mnist-cpu --seeds 0 --out interp.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from raekit.data import load_images
from raekit.generation import decode_codes, encode_images
from raekit.generation.interpolate import midpoints
from raekit.metrics import feature_statistics, frechet_distance_from_stats, get_extractor
from raekit.runs import is_finished, load_run

RULES = {  # name -> (method, centre on the codes' mean)
    "slerp": ("slerp", False),
    "slerp about the mean": ("slerp", True),
    "linear": ("linear", False),
}


def run_fids(run: Path, data, fid, n: int, seed: int) -> dict:
    model, config = load_run(run)
    codes = encode_images(model, data.valid[: config.valid_limit], desc=None)
    pairs = np.random.default_rng(seed).choice(len(codes), size=(n, 2))
    a, b, mean = codes[pairs[:, 0]], codes[pairs[:, 1]], codes.mean(0)
    result = {
        name: fid(decode_codes(model, midpoints(a, b, method, mean if centre else None)))
        for name, (method, centre) in RULES.items()
    }
    result["|mean| / mean |code|"] = float(
        np.linalg.norm(mean) / np.linalg.norm(codes, axis=1).mean()
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
    extractor = get_extractor("classifier", dataset=dataset, data=data)
    reference = feature_statistics(extractor(data.test[: args.n]))

    def fid(images: np.ndarray) -> float:
        return frechet_distance_from_stats(*feature_statistics(extractor(images)), *reference)

    results = {}
    for run in runs:
        key = f"{run.parent.name}/{run.name}"
        results[key] = run_fids(run, data, fid, args.n, seed=int(run.name[4:]))
        print(key, {k: round(v, 2) for k, v in results[key].items()}, flush=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
