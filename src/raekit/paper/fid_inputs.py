"""What `raekit fid` compares: each side is a folder or list of images, an .npy / .npz image
array, a run directory (whose density is sampled), or saved statistics (.npz with `mu` and
`sigma`, as pytorch-fid writes them). Each becomes feature statistics, and features where PRD
needs them.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from raekit.data.own import read_own_images
from raekit.errors import RaekitError
from raekit.generation import load_run_density, sample_images
from raekit.io.atomic import atomic_path
from raekit.metrics.fid import feature_statistics
from raekit.paper.run_scores import check_density_names, normal_density
from raekit.runs import CONFIG_FILE, Run

STATS_KEYS = ("mu", "sigma")


@dataclass(frozen=True)
class FidSide:
    what: str  # the path as given
    mu: np.ndarray
    sigma: np.ndarray
    features: np.ndarray | None  # None for saved statistics


@dataclass(frozen=True)
class SampleOptions:
    """How a run directory is turned into images."""

    n: int = 10_000
    density: str | None = None  # None: the model's N density (Table 1)
    seed: int = 0


def read_statistics(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """(mu, sigma) of a statistics file; None for an .npz that holds images instead."""
    if path.suffix.lower() != ".npz" or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not set(STATS_KEYS) <= set(archive.files):
                return None
            mu, sigma = archive["mu"], archive["sigma"]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise RaekitError(f"{path}: not a readable .npz file ({exc.__class__.__name__})") from None
    mu, sigma = np.asarray(mu, np.float64), np.asarray(sigma, np.float64)
    if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)):
        raise RaekitError(
            f"{path}: mu must be a vector and sigma its square covariance, got {mu.shape} and "
            f"{sigma.shape}"
        )
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise RaekitError(f"{path}: the statistics contain NaN or Inf values")
    return mu, sigma


def side_images(what: str, resolution: int | None, sampling: SampleOptions) -> np.ndarray:
    """The images one side names, uint8 or float (N, C, H, W)."""
    path = Path(what)
    if (path / CONFIG_FILE).is_file():
        return run_samples(Run.of(path), sampling)
    return read_own_images(path, resolution, any_size=True).images


def run_samples(run: Run, sampling: SampleOptions) -> np.ndarray:
    """`sampling.n` images decoded from samples of a run's density."""
    if run.config.image_shape is None:
        raise RaekitError(f"{run.directory} is a sequence model; FID compares images")
    kind = sampling.density or normal_density(run.model)
    check_density_names([kind])
    density = load_run_density(run, kind)
    return sample_images(run.model, density, sampling.n, sampling.seed)


def fid_side(
    what: str, extractor, resolution: int | None, sampling: SampleOptions, need_features: bool
) -> FidSide:
    """Statistics (and features) of one side; `extractor` is called only for images."""
    stats = read_statistics(Path(what))
    if stats is not None:
        if need_features:
            raise RaekitError(
                f"{what} holds statistics only; PRD needs images (or a run) on both sides"
            )
        return FidSide(what, *stats, None)
    features = extractor()(side_images(what, resolution, sampling))
    return FidSide(what, *feature_statistics(features, f"features of {what}"), features)


def save_statistics(side: FidSide, out: Path) -> Path:
    """pytorch-fid's statistics file: mu and sigma in float64."""
    with atomic_path(out) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, mu=side.mu, sigma=side.sigma)
    return out
