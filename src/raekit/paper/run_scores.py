"""The paper's evaluation of one run (Section 6.1, Appendix D-E).

FID of reconstructions, of samples from each ex-post density and of slerp midpoints of random
pairs of codes, each against the test set; PRD (F_8 ~ recall, F_1/8 ~ precision) of each
density's samples. Which images are reconstructed and interpolated is the run's `eval_images`:
"valid" (the default) as Appendix D says and the official interpolation_fid_and_viz.py does, or
"test" (Table 1's caption, whose test images are then the reference too); `rec_sampled` and
`rec_second_stage` are the official preset's reconstructions.
Every number is tagged with its feature extractor and sample count: numbers of different
extractors or counts are not comparable.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from raekit import notices
from raekit.config.dataset_specs import OWN_DATA
from raekit.density import DENSITIES
from raekit.errors import RaekitError, unknown
from raekit.generation import decode_codes, encode_images, load_run_density, reconstruct
from raekit.generation.interpolate import midpoints
from raekit.io.atomic import atomic_path
from raekit.io.cache import cache_dir, read_cached
from raekit.io.jsonio import write_json
from raekit.io.progress import default_enabled
from raekit.metrics import (
    feature_statistics,
    frechet_distance_from_stats,
    get_extractor,
    prd,
    prd_f_beta,
)
from raekit.paper.reuse import fingerprints
from raekit.runs import Run
from raekit.runs.locks import locking

EVAL_FILE = "eval.json"


def normal_density(model) -> str:
    """The density behind Table 1's "N" column: the prior for VAE/WAE, the second-stage VAE for the
    2-stage VAE, a fitted full-covariance Gaussian otherwise (Appendix D)."""
    return model.variant.n_density


def _pick(n_available: int, n: int, rng: np.random.Generator, size=None) -> np.ndarray:
    return rng.choice(
        n_available, size=size or n, replace=n > n_available if size is None else True
    )


@locking("run", "run")
def evaluate_run(
    run: Run,
    features: str | None = None,
    n: int = 10_000,
    densities: list[str] | None = None,
    seed: int = 0,
    write: bool = True,
    classifier: str | Path | None = None,
) -> dict[str, Any]:
    """Evaluate a trained run (a Run; a run directory is made one with Run.of); writes
    RUN/eval.json and returns its content. `features`: "classifier" or "inception"; None: the
    classifier for the paper's datasets, Inception for own images (they have no labels).
    `classifier`: a folder pinning the classifier (a reproduction's OUT/classifier), else the
    cached one."""
    if n < 2:
        raise RaekitError(f"--n must be at least 2, got {n}")
    check_density_names(densities)
    started = time.perf_counter()
    run = Run.of(run)
    config, data = run.config, run.data
    features = features or default_features(config)
    densities = densities or [normal_density(run.model), "gmm"]
    requested, n = n, _sample_count(config, data, n)
    options = {"engine": config.engine} if features == "inception" else {}
    if features == "classifier" and classifier is not None:
        options = {"pinned": Path(classifier)}
    extractor = get_extractor(features, dataset=config.dataset, data=data, **options)
    test = data.test[:n]
    notices.under_way()
    say(
        f"evaluating {run.directory}: {features} features, {n} samples per FID against "
        f"{len(test)} test images"
    )
    scorer = _Scorer(extractor, *_reference(extractor, data_key(config), test))
    fid, prd, loglik = _scores(run, scorer, densities, n, seed)
    result = {
        "run": str(run.directory),
        "dataset": config.dataset,
        "model": config.model,
        "preset": config.preset,
        "features": features,
        "extractor": extractor.name,
        "extractor_fingerprint": extractor.fingerprint,
        "n": n,
        "n_requested": requested,
        "n_reference": len(test),
        "seed": seed,
        "protocol": protocol(config),
        "fingerprints": fingerprints(run.directory, config, densities),
        "columns": {"N": densities[0], "GMM": "gmm" if "gmm" in densities else None},
        "fid": fid,
        "prd": prd,
        "valid_loglik": loglik,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if write:
        write_json(run.directory / EVAL_FILE, result)
    return result


def _sample_count(config, data, n: int) -> int:
    """FID and PRD compare equal counts: at most the test set's size."""
    if n > len(data.test):
        notices.note(
            f"the {config.dataset} test set has {len(data.test)} images; FID and PRD use "
            f"{len(data.test)} samples each instead of {n}"
        )
    return min(n, len(data.test))


class _Scorer:
    """FID against the reference statistics; features kept for PRD."""

    def __init__(self, extractor, ref_stats, ref_features):
        self.extractor, self.ref_stats, self.ref_features = extractor, ref_stats, ref_features

    def __call__(self, images: np.ndarray) -> tuple[float, np.ndarray]:
        feats = self.extractor(images)
        return frechet_distance_from_stats(*feature_statistics(feats), *self.ref_stats), feats


def _scores(run: Run, score: _Scorer, densities, n: int, seed: int):
    """(fid, prd, valid_loglik): reconstructions, each density's samples, interpolations."""
    model, config, rng = run.model, run.config, np.random.default_rng(seed)
    codes = encode_images(model, run.data.valid[: config.valid_limit])
    images = eval_images(config, run.data)
    image_codes = codes if config.eval_images == "valid" else encode_images(model, images)
    fid, prd, loglik = {}, {}, {}
    say("  FID of reconstructions")
    fid["rec"], _ = score(_reconstructions(run, images[_pick(len(images), n, rng)], seed))
    for kind in densities:
        say(f"  {kind} density: fit or load, FID and PRD of {n} samples")
        density = load_run_density(run, kind)
        fid[kind], feats = score(decode_codes(model, density.sample(n, seed=seed)))
        prd[kind] = _prd(feats, score.ref_features)
        loglik[kind] = density.score(codes)  # validation codes: which density generalises
    say("  FID of interpolation midpoints")
    pairs = _pick(len(images), n, rng, size=(n, 2))
    mid = midpoints(image_codes[pairs[:, 0]], image_codes[pairs[:, 1]])
    fid["interp"], _ = score(decode_codes(model, mid))
    return fid, prd, loglik


def default_features(config) -> str:
    """Inception for own images (no labels to train a classifier on), else the classifier."""
    return "inception" if config.dataset == OWN_DATA else "classifier"


def data_key(config) -> str:
    """Names a run's images in cache keys: the dataset, or own images by fingerprint and split."""
    if config.dataset != OWN_DATA:
        return config.dataset
    return f"{OWN_DATA}-{config.data_sha256[:16]}-{config.resolution}-{config.data_seed}"


def check_density_names(densities: list[str] | None) -> None:
    """Refuse an unknown density name before any work starts."""

    for kind in densities or []:
        if kind not in DENSITIES:
            raise unknown("density", kind, DENSITIES)


def say(message: str) -> None:
    """A step announcement on stderr (stdout stays for results), silenced with the progress bars."""

    if default_enabled():
        print(message, file=sys.stderr, flush=True)


def protocol(config) -> dict[str, Any]:
    """The settings that decide what REC and Interp. measure (recorded in eval.json)."""
    return {
        "eval_images": config.eval_images,
        "rec_sampled": config.rec_sampled,
        "rec_second_stage": config.rec_second_stage,
    }


def eval_images(config, data) -> np.ndarray:
    """The images REC reconstructs and Interp. pairs: validation images (Appendix D, the official
    interpolation_fid_and_viz.py) or test images (Table 1's caption)."""
    return data.test if config.eval_images == "test" else data.valid[: config.valid_limit]


def _reconstructions(run: Run, images: np.ndarray, seed: int) -> np.ndarray:
    """REC's images; the 2-stage VAE's pass through its second stage when `rec_second_stage`."""
    model, config = run.model, run.config
    if config.rec_second_stage and normal_density(model) == "two-stage":
        stage_two = load_run_density(run, "two-stage")
        return decode_codes(model, stage_two.reconstruct(encode_images(model, images), seed=seed))
    return reconstruct(model, images, sampled=config.rec_sampled, seed=seed)


def _reference(extractor, dataset: str, test: np.ndarray):
    """Test-set statistics and features, cached per dataset, split, extractor and count (the
    features too: PRD needs them, and Inception features of 10k images take minutes on a CPU)."""
    key = f"{dataset}-test-{getattr(extractor, 'fingerprint', extractor.name)}-{len(test)}"
    path = cache_dir() / "reference" / f"{key}.safetensors"

    def read(path: Path) -> np.ndarray:
        stored = load_file(path)["features"]
        if stored.ndim != 2 or len(stored) != len(test) or not np.isfinite(stored).all():
            raise ValueError(f"features of shape {stored.shape}")
        return stored

    features = read_cached(path, read, "the cached reference features")
    if features is None:
        features = np.ascontiguousarray(extractor(test))
        with atomic_path(path) as tmp:
            save_file({"features": features}, tmp)
    return feature_statistics(features), features


def _prd(features: np.ndarray, ref_features: np.ndarray) -> dict[str, Any]:

    # 20 clusters (the paper's); fewer when so few images are compared (small own data sets)
    precision, recall = prd(
        features, ref_features, num_clusters=min(20, len(features) + len(ref_features))
    )
    f8, f1_8 = prd_f_beta(precision, recall, beta=8)
    return {
        "f8": float(f8),
        "f1_8": float(f1_8),
        "precision": np.asarray(precision).tolist(),
        "recall": np.asarray(recall).tolist(),
    }


def read_eval(run_dir: str | Path) -> dict[str, Any] | None:
    """A run's eval.json, checked to hold what the tables read; None when there is none."""
    path = Path(run_dir) / EVAL_FILE
    if not path.is_file():
        return None
    try:
        result = json.loads(path.read_text())
        problem = _eval_problem(result)
    except (OSError, ValueError, RecursionError) as exc:
        problem = f"{exc.__class__.__name__}: {str(exc)[:80]}"
    if problem:
        raise RaekitError(f"{path} is damaged ({problem}); delete it and evaluate again")
    return result


_NUMBER = (int, float, type(None))


def _eval_problem(result) -> str | None:
    """What is wrong with an eval.json's content, or None."""
    if not isinstance(result, dict):
        return "not a JSON object"
    for key, kind in (
        ("run", str),
        ("features", str),
        ("n", int),
        ("fid", dict),
        ("prd", dict),
        ("columns", dict),
        ("valid_loglik", dict),
    ):
        if not isinstance(result.get(key), kind):
            return f"{key!r} is missing or not a {kind.__name__}"
    if not isinstance(result["columns"].get("N"), str) or not isinstance(
        result["columns"].get("GMM"), (str, type(None))
    ):
        return "'columns' needs N and GMM density names"
    if not all(
        isinstance(v, _NUMBER) for v in (*result["fid"].values(), *result["valid_loglik"].values())
    ):
        return "'fid' and 'valid_loglik' must map names to numbers"
    for curve in result["prd"].values():
        if (
            not isinstance(curve, dict)
            or not all(isinstance(curve.get(k), _NUMBER) for k in ("f8", "f1_8"))
            or not all(isinstance(curve.get(k), list) for k in ("precision", "recall"))
        ):
            return "'prd' entries need f8, f1_8, precision and recall"
    return None
