"""The same runs scored in two feature spaces: FID of each model's samples (and, if asked, its
reconstructions and interpolations) against the test set with every extractor given (raekit's
classifier features and the paper's TF-Inception), the real-vs-real floor of each (training
images against test images, as many of each) and Spearman's rho against the paper's ordering per
feature space. The images of a column are decoded once and scored by every extractor.

Hours of Inception features on a CPU outlast a session, so with a cache folder the reference
statistics and each finished column's FIDs are kept there and reused when the check is run again
(keyed by the images' digest, and by the run's weights, n and seed)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from raekit.generation import decode_codes, encode_images, load_run_density, reconstruct
from raekit.generation.densities import model_fingerprint
from raekit.generation.interpolate import midpoints
from raekit.io.atomic import atomic_path
from raekit.io.jsonio import read_json_object, write_json
from raekit.metrics import feature_statistics, frechet_distance_from_stats
from raekit.paper.reported import FIRST_STAGE_COLUMNS, TABLE1
from raekit.paper.stats import spearman
from raekit.runs import Run

COLUMNS = ("REC", "N", "GMM", "Interp")
Extractor = Callable[[np.ndarray], np.ndarray]


class Scorer:
    """FID against the first n test images in every feature space (reference computed once).
    With `cache`, the statistics of the reference and of the floor's images are kept there."""

    def __init__(
        self, extractors: dict[str, Extractor], test: np.ndarray, cache: Path | None = None
    ):
        self.extractors, self.cache = extractors, cache
        # what names each feature space in the cache (a classifier's weights, Inception's)
        self.fingerprints = {k: getattr(e, "fingerprint", k) for k, e in extractors.items()}
        self.reference = {k: self.statistics(k, test, keep=True) for k in extractors}

    def statistics(self, name: str, images: np.ndarray, keep: bool = False):
        """Mean and covariance of `name`'s features of `images` (from the cache if kept there)."""
        path = None
        if keep and self.cache is not None:
            digest = hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()[:16]
            path = self.cache / f"{self.fingerprints[name]}-{len(images)}-{digest}.npz"
            if path.is_file():
                with np.load(path) as kept:
                    return kept["mu"], kept["sigma"]
        mu, sigma = feature_statistics(self.extractors[name](images))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp, open(tmp, "wb") as f:
                np.savez(f, mu=mu, sigma=sigma)
        return mu, sigma

    def __call__(self, images: np.ndarray, keep: bool = False) -> dict[str, float]:
        return {
            name: float(
                frechet_distance_from_stats(
                    *self.statistics(name, images, keep), *self.reference[name]
                )
            )
            for name in self.extractors
        }


class ScoreCache:
    """FIDs of finished columns (FILE, JSON), so a stopped cross-check resumes where it was."""

    def __init__(self, path: Path | None):
        self.path = path
        found = read_json_object(path) if path is not None else None
        self.entries: dict[str, dict[str, float]] = (found or {}).get("fid", {})

    @staticmethod
    def key(run: Run, column: str, n: int, seed: int, scorer: Scorer) -> str:
        spaces = ",".join(sorted(scorer.fingerprints.values()))
        return f"{column} n={n} seed={seed} weights={model_fingerprint(run.model)[:16]} {spaces}"

    def get(self, key: str, spaces) -> dict[str, float] | None:
        fids = self.entries.get(key, {})
        return fids if set(spaces) <= set(fids) else None

    def put(self, key: str, fids: dict[str, float]) -> None:
        self.entries[key] = {**self.entries.get(key, {}), **fids}
        if self.path is not None:
            write_json(self.path, {"fid": self.entries})


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
    run_dirs: dict[str, Path],
    scorer: Scorer,
    columns,
    n: int,
    seed: int,
    data,
    say=print,
    cache: ScoreCache | None = None,
) -> list[dict[str, Any]]:
    """One row per (model, column, feature space) with its FID; a model's first-stage columns
    (the 2-stage VAE's, which are its VAE's) are left out. Columns in `cache` are reused."""
    cache = cache or ScoreCache(None)
    rows = []
    for model, run_dir in run_dirs.items():
        run = Run.of(run_dir, data)  # one load per model, for all its columns
        for column in columns:
            if column in FIRST_STAGE_COLUMNS.get(model, ()):
                continue
            key = ScoreCache.key(run, column, n, seed, scorer)
            fids = cache.get(key, scorer.extractors)
            if fids is None:
                fids = scorer(column_images(run, column, n, seed))
                cache.put(key, fids)
            fids = {k: fids[k] for k in scorer.extractors}
            say(f"{model} {column}: " + ", ".join(f"{k} {v:.2f}" for k, v in fids.items()))
            rows += [
                {"model": model, "column": column, "features": k, "fid": v} for k, v in fids.items()
            ]
    return rows


def floor(scorer: Scorer, train: np.ndarray) -> dict[str, float]:
    """FID of real training images against the test images: the least a model can reach."""
    return scorer(train, keep=True)


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
