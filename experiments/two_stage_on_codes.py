"""FID of samples from a full-covariance Gaussian and from the 2-stage VAE's second stage, each
fitted ex-post on the training codes of every run in a reproduction. Table 1's N column gives the
2sVAE its second-stage density but the AE and RAEs a single Gaussian; this puts every model on the
same density, so a gap in N can be laid on the model or on the density.

    python experiments/two_stage_on_codes.py runs/mnist-cpu --seeds 0,1 --out two_stage.json

Densities are fitted once and kept in each run's densities/ folder (as `raekit fit-density` does);
samples use the run's seed, as `raekit evaluate` does, so the numbers match its eval.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from repro_fids import over_runs

from raekit.generation import decode_codes, load_run_density
from raekit.runs import Run

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


def run_fids(run_dir: Path, data, fid, n: int, seed: int) -> dict:
    run = Run.of(run_dir, data)  # one model load for both densities
    return {
        kind: fid(decode_codes(run.model, load_run_density(run, kind).sample(n, seed=seed)))
        for kind in DENSITIES
    }


def main() -> None:
    args, results, fid = over_runs(__doc__, run_fids)
    out = {"n": args.n, "features": fid.name, "runs": results, "summary": summary(results)}
    args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
