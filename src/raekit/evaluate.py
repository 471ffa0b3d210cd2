"""The paper's evaluation of one run (Section 6.1, Appendix D-E).

FID of validation reconstructions, of samples from each ex-post density and of slerp midpoints of
random validation pairs, each against the test set; PRD (F_8, F_1/8) of each density's samples.
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

from raekit.atomic import atomic_write_text
from raekit.errors import RaekitError
from raekit.locks import locking

EVAL_FILE = "eval.json"


def normal_density(model) -> str:
    """The density behind Table 1's "N" column: the prior for VAE/WAE, the second-stage VAE for the
    2-stage VAE, a fitted full-covariance Gaussian otherwise (Appendix D)."""
    if model.variant.name == "2svae":
        return "two-stage"
    return "prior" if model.variant.prior_is_normal else "gaussian"


def _pick(n_available: int, n: int, rng: np.random.Generator, size=None) -> np.ndarray:
    return rng.choice(n_available, size=size or n, replace=n > n_available if size is None else True)


@locking("run_dir", "run")
def evaluate_run(run_dir: str | Path, features: str = "classifier", n: int = 10_000,
                 densities: list[str] | None = None, seed: int = 0, data=None,
                 write: bool = True) -> dict[str, Any]:
    """Evaluate a trained run; writes RUN/eval.json and returns its content."""
    from raekit.data import load_images
    from raekit.generate import as_model, decode_codes, encode_images, load_run_density, reconstruct
    from raekit.interpolate import slerp
    from raekit.metrics import get_extractor

    if n < 2:
        raise RaekitError(f"--n must be at least 2, got {n}")
    started = time.perf_counter()
    model, config, run_dir = as_model(Path(run_dir))
    data = data or load_images(config.dataset, config.data_root)
    densities = densities or [normal_density(model), "gmm"]
    extractor = get_extractor(features, dataset=config.dataset, data=data)
    rng = np.random.default_rng(seed)
    test = data.test[:n]
    if len(test) < n:
        print(f"raekit: the {config.dataset} test set has {len(test)} images; using all of them as the "
              f"reference for {n} generated images", file=sys.stderr)
    ref_stats, ref_features = _reference(extractor, config.dataset, test)

    def score(images: np.ndarray) -> tuple[float, np.ndarray]:
        from raekit.metrics import feature_statistics, frechet_distance_from_stats
        feats = extractor(images)
        return frechet_distance_from_stats(*feature_statistics(feats), *ref_stats), feats

    valid = data.valid[:config.valid_limit]
    codes = encode_images(model, valid)
    fid, prd, loglik = {}, {}, {}
    fid["rec"], _ = score(reconstruct(model, valid[_pick(len(valid), n, rng)]))
    for kind in densities:
        density = load_run_density(run_dir, kind, data=data)
        fid[kind], feats = score(decode_codes(model, density.sample(n, seed=seed)))
        prd[kind] = _prd(feats, ref_features)
        loglik[kind] = density.score(codes)  # validation codes: which density generalises
    pairs = _pick(len(valid), n, rng, size=(n, 2))
    mid = slerp(codes[pairs[:, 0]], codes[pairs[:, 1]], np.array([0.5]))[:, 0]
    fid["interp"], _ = score(decode_codes(model, mid))
    result = {"run": str(run_dir), "dataset": config.dataset, "model": config.model,
              "preset": config.preset, "features": features, "extractor": extractor.name, "n": n, "n_reference": len(test),
              "seed": seed, "columns": {"N": densities[0], "GMM": "gmm" if "gmm" in densities else None},
              "fid": fid, "prd": prd, "valid_loglik": loglik,
              "seconds": round(time.perf_counter() - started, 1)}
    if write:
        atomic_write_text(run_dir / EVAL_FILE, json.dumps(result, indent=2))
    return result


def _reference(extractor, dataset: str, test: np.ndarray):
    """Test-set statistics and features, cached per dataset, split, extractor and count (the
    features too: PRD needs them, and Inception features of 10k images take minutes on a CPU)."""
    from safetensors.numpy import load_file, save_file

    from raekit.atomic import atomic_path
    from raekit.cache import cache_dir
    from raekit.metrics import feature_statistics
    key = f"{dataset}-test-{getattr(extractor, 'fingerprint', extractor.name)}-{len(test)}"
    path = cache_dir() / "reference" / f"{key}.safetensors"
    if path.is_file():
        features = load_file(path)["features"]
    else:
        features = np.ascontiguousarray(extractor(test))
        with atomic_path(path) as tmp:
            save_file({"features": features}, tmp)
    return feature_statistics(features), features


def _prd(features: np.ndarray, ref_features: np.ndarray) -> dict[str, Any]:
    from raekit.metrics import prd, prd_f_beta
    precision, recall = prd(features, ref_features)
    f8, f1_8 = prd_f_beta(precision, recall, beta=8)
    return {"f8": float(f8), "f1_8": float(f1_8),
            "precision": np.asarray(precision).tolist(), "recall": np.asarray(recall).tolist()}


def read_eval(run_dir: str | Path) -> dict[str, Any] | None:
    path = Path(run_dir) / EVAL_FILE
    return json.loads(path.read_text()) if path.is_file() else None
