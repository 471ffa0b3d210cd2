"""The same runs scored in two feature spaces: FID of each model's samples (and, if asked, its
reconstructions and interpolations) against the test set with every extractor given (raekit's
classifier features and the paper's TF-Inception), the real-vs-real floor of each (training
images against test images, as many of each) and Spearman's rho against the paper's ordering per
feature space. The images of a column are decoded once and scored by every extractor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from raekit.generation import decode_codes, encode_images, load_run_density, reconstruct
from raekit.generation.interpolate import midpoints
from raekit.metrics import feature_statistics, frechet_distance_from_stats
from raekit.paper.reported import FIRST_STAGE_COLUMNS, TABLE1
from raekit.paper.stats import spearman
from raekit.runs import Run

COLUMNS = ("REC", "N", "GMM", "Interp")
Extractor = Callable[[np.ndarray], np.ndarray]


class Scorer:
    """FID against the first n test images in every feature space (reference computed once)."""

    def __init__(self, extractors: dict[str, Extractor], test: np.ndarray):
        self.extractors = extractors
        self.reference = {k: feature_statistics(f(test)) for k, f in extractors.items()}

    def __call__(self, images: np.ndarray) -> dict[str, float]:
        return {
            name: float(
                frechet_distance_from_stats(*feature_statistics(f(images)), *self.reference[name])
            )
            for name, f in self.extractors.items()
        }


def column_images(run: Run, column: str, n: int, seed: int) -> np.ndarray:
    """The n images a Table 1 column scores: reconstructions and interpolation midpoints of
    validation images (Appendix D), or samples of the run's N density or GMM."""
    model, rng = run.model, np.random.default_rng(seed)
    valid = run.data.valid[: run.config.valid_limit]
    if column == "REC":
        return reconstruct(model, valid[rng.choice(len(valid), n, replace=n > len(valid))])
    if column == "Interp":
        codes = encode_images(model, valid)
        pairs = rng.integers(0, len(valid), size=(n, 2))
        return decode_codes(model, midpoints(codes[pairs[:, 0]], codes[pairs[:, 1]]))
    kind = model.variant.n_density if column == "N" else "gmm"
    density = load_run_density(run, kind)
    return decode_codes(model, density.sample(n, seed=seed))


def score_runs(
    run_dirs: dict[str, Path], scorer: Scorer, columns, n: int, seed: int, data, say=print
) -> list[dict[str, Any]]:
    """One row per (model, column, feature space) with its FID; a model's first-stage columns
    (the 2-stage VAE's, which are its VAE's) are left out."""
    rows = []
    for model, run_dir in run_dirs.items():
        run = Run.of(run_dir, data)  # one load per model, for all its columns
        for column in columns:
            if column in FIRST_STAGE_COLUMNS.get(model, ()):
                continue
            fids = scorer(column_images(run, column, n, seed))
            say(f"{model} {column}: " + ", ".join(f"{k} {v:.2f}" for k, v in fids.items()))
            rows += [
                {"model": model, "column": column, "features": k, "fid": v} for k, v in fids.items()
            ]
    return rows


def floor(scorer: Scorer, train: np.ndarray) -> dict[str, float]:
    """FID of real training images against the test images: the least a model can reach."""
    return scorer(train)


def orderings(rows: list[dict[str, Any]], paper: str) -> list[dict[str, Any]]:
    """Spearman's rho of each (feature space, column) ordering against the paper's table."""
    table, out = TABLE1[paper], []
    for space in sorted({r["features"] for r in rows}):
        for column in COLUMNS:
            index = COLUMNS.index(column)
            cells = [
                (r["fid"], table[r["model"]][index])
                for r in rows
                if r["features"] == space
                and r["column"] == column
                and r["model"] in table
                and table[r["model"]][index] is not None
            ]
            if cells:
                ours, theirs = zip(*cells)
                out.append(
                    {
                        "features": space,
                        "column": column,
                        "models": len(cells),
                        "spearman": spearman(ours, theirs),
                    }
                )
    return out
