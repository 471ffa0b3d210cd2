"""FID of samples from a full-covariance Gaussian and from the 2-stage VAE's second stage, each
fitted ex-post on the training codes of every run in a reproduction. Table 1's N column gives the
2sVAE its second-stage density but the AE and RAEs a single Gaussian; this puts every model on the
same density, so a gap in N can be laid on the model or on the density.

    python experiments/two_stage_on_codes.py runs/mnist-cpu --seeds 0,1 --out two_stage.json

Densities are fitted once and kept in each run's densities/ folder (as `raekit fit-density` does);
samples use the run's seed, as `raekit evaluate` does, so the numbers match its eval.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from raekit.data import load_images
from raekit.generation import decode_codes, load_run_density
from raekit.metrics import feature_statistics, frechet_distance_from_stats, get_extractor
from raekit.runs import is_finished, load_run

DENSITIES = ("gaussian", "two-stage")


def summary(results: dict) -> dict:
    """model -> density -> [mean, std over seeds]."""
    by_model: dict[str, dict[str, list[float]]] = {}
    for key, fids in results.items():
        for kind, value in fids.items():
            by_model.setdefault(key.split("/")[0], {}).setdefault(kind, []).append(value)
    return {
        model: {
            kind: [float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else None]
            for kind, v in kinds.items()
        }
        for model, kinds in by_model.items()
    }


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

    results = {}
    for run in runs:
        model, seed = load_run(run)[0], int(run.name[4:])
        key = f"{run.parent.name}/{run.name}"
        results[key] = {}
        for kind in DENSITIES:
            codes = load_run_density(run, kind, data=data).sample(args.n, seed=seed)
            stats = feature_statistics(extractor(decode_codes(model, codes)))
            results[key][kind] = frechet_distance_from_stats(*stats, *reference)
        print(key, {k: round(v, 2) for k, v in results[key].items()}, flush=True)
    out = {"n": args.n, "features": extractor.name, "runs": results, "summary": summary(results)}
    args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
