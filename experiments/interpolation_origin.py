"""Interp. FID of a reproduction's runs with three midpoint rules on the same validation pairs:
slerp of the raw codes (the paper's evaluation and raekit's Interp. column), slerp about the
training codes' mean, and linear. Codes of models without a prior need not be centred at zero,
and slerp about zero then treats them as nearly parallel.

    python experiments/interpolation_origin.py runs/mnist-cpu --seeds 0 --out interp.json
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from repro_fids import over_runs

from raekit.generation import decode_codes, encode_images
from raekit.generation.interpolate import midpoints
from raekit.runs import load_run

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
    args, results, _ = over_runs(__doc__, run_fids)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
