"""`raekit fid A B` through the real CLI, checked against an independent computation: images read
with PIL by the test, Inception features, and the Fréchet distance from eigenvalues (numpy)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SRC = Path(__file__).resolve().parents[1] / "src"


def raekit(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1", "RAEKIT_PROGRESS": "0"}
    return subprocess.run(
        [sys.executable, "-m", "raekit", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def fid_by_eigenvalues(mu1, s1, mu2, s2) -> float:
    """tr((S1 S2)^1/2) is the sum of the square roots of S1 S2's eigenvalues (all real, >= 0,
    as S1 S2 is similar to S1^1/2 S2 S1^1/2): no matrix square root needed."""
    eig = np.linalg.eigvals(s1 @ s2).real.clip(min=0)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(eig).sum())


def printed_fid(result: subprocess.CompletedProcess) -> float:
    assert result.returncode == 0, result.stderr[-2000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("FID: "))
    return float(line.split()[1])


def test_statistics_files_give_the_frechet_distance(tmp_path):
    rng = np.random.default_rng(0)
    stats = []
    for name, shift in (("a", 0.0), ("b", 0.7)):
        x = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6)) + shift
        mu, sigma = x.mean(0), np.cov(x, rowvar=False)
        np.savez(tmp_path / f"{name}.npz", mu=mu, sigma=sigma)
        stats.append((mu, sigma))
    expected = fid_by_eigenvalues(*stats[0], *stats[1])
    assert expected > 1.0
    got = printed_fid(raekit("fid", str(tmp_path / "a.npz"), str(tmp_path / "b.npz")))
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-6)
    assert printed_fid(raekit("fid", str(tmp_path / "a.npz"), str(tmp_path / "a.npz"))) == (
        pytest.approx(0.0, abs=1e-6)
    )


@pytest.fixture(scope="module")
def extractor():
    from raekit.errors import RaekitError
    from raekit.metrics.features import InceptionExtractor
    from raekit.metrics.inception_weights import fetch_inception

    try:
        return InceptionExtractor(batch_size=8)
    except RaekitError:
        try:
            fetch_inception()
        except RaekitError as exc:
            pytest.skip(f"Inception weights unavailable: {exc}")
        return InceptionExtractor(batch_size=8)


def _pngs(folder: Path, images: np.ndarray) -> None:
    for i, image in enumerate(images):
        sub = folder / ("deep" if i % 2 else "")  # folders are read recursively
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(sub / f"{i:03d}.png")


def _read_back(folder: Path) -> np.ndarray:
    files = sorted(folder.rglob("*.png"))
    return np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files]).transpose(0, 3, 1, 2)


def test_folder_array_and_saved_statistics_agree_with_an_independent_fid(tmp_path, extractor):
    rng = np.random.default_rng(1)
    real = rng.integers(0, 256, size=(12, 24, 24, 3), dtype=np.uint8)
    fake = np.clip(real.astype(int) + rng.integers(-60, 60, size=real.shape), 0, 255)
    _pngs(tmp_path / "real", real)
    np.save(tmp_path / "fake.npy", (fake / 255.0).astype(np.float32))  # floats in [0, 1]
    feats_real = extractor(_read_back(tmp_path / "real"))
    feats_fake = extractor(np.round(fake / 255.0 * 255).astype(np.uint8).transpose(0, 3, 1, 2))
    stats = [(f.mean(0), np.cov(f, rowvar=False)) for f in (feats_real, feats_fake)]
    expected = fid_by_eigenvalues(*stats[0], *stats[1])

    compared = raekit("fid", str(tmp_path / "real"), str(tmp_path / "fake.npy"), "--prd")
    got = printed_fid(compared)
    assert got == pytest.approx(expected, rel=2e-3)
    values = [float(line.split()[-1]) for line in compared.stdout.splitlines() if "PRD" in line]
    assert len(values) == 2 and all(0 <= v <= 1 for v in values)

    saved = raekit("fid", str(tmp_path / "real"), "--save-stats", str(tmp_path / "real.npz"))
    assert saved.returncode == 0, saved.stderr
    with np.load(tmp_path / "real.npz") as stored:
        # float32 features: batches of different sizes round differently
        np.testing.assert_allclose(stored["mu"], stats[0][0], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(stored["sigma"], stats[0][1], rtol=1e-3, atol=1e-6)
    from_stats = printed_fid(raekit("fid", str(tmp_path / "real.npz"), str(tmp_path / "fake.npy")))
    assert from_stats == pytest.approx(got, rel=1e-4)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["{d}/a.npz"], "give two image sets"),
        (["{d}/a.npz", "{d}/a.npz", "--prd"], "statistics only"),
        (["{d}/a.npz", "--save-stats", "{d}/a.npz"], "exists"),
        (["{d}/a.npz", "--save-stats", "{d}/out.txt"], "an .npz file"),
        (["{d}/nothing", "{d}/a.npz"], "no such file or folder"),
        (["{d}/a.npz", "{d}/a.npz", "--resolution", "50"], "resolution must be one of"),
        (["{d}/a.npz", "{d}/a.npz", "--device", "tpu"], "unknown device"),
    ],
)
def test_bad_fid_requests_are_one_line(tmp_path, argv, message):
    np.savez(tmp_path / "a.npz", mu=np.zeros(3), sigma=np.eye(3))
    before = sorted(tmp_path.rglob("*"))
    result = raekit("fid", *[a.format(d=tmp_path) for a in argv])
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr
    assert sorted(tmp_path.rglob("*")) == before
