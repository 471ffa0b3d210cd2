"""Own images through the real CLI: a folder of PNGs and an .npy array each train, fit a density,
sample and evaluate (Inception features; `raekit fid` of the folder against the run's samples);
resume reads the same images, also after a move."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

SRC = Path(__file__).resolve().parents[1] / "src"


def raekit(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1", "RAEKIT_PROGRESS": "0"}
    result = subprocess.run(
        [sys.executable, "-m", "raekit", *map(str, argv)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _images(n: int, size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 50, size=(n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        images[i, 4 + i % 10 : 10 + i % 10, 3:-3, i % 3] = 240
    return images


def _has_inception() -> bool:
    from raekit.errors import RaekitError
    from raekit.metrics.inception_weights import fetch_inception, load_inception

    try:
        load_inception()
    except RaekitError:
        try:
            fetch_inception()
        except RaekitError:
            return False
    return True


def test_a_folder_of_pngs_trains_fits_samples_and_evaluates(tmp_path):
    folder = tmp_path / "pngs"
    for i, image in enumerate(_images(40, 40)):
        (folder / str(i % 3)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / str(i % 3) / f"{i}.png")
    run = tmp_path / "run"
    raekit("train", "--data", folder, "--preset", "tiny", "--epochs", "1", "--out", run,
           "--set", "batch_size=8", "latent_dim=8", "--device", "cpu")  # fmt: skip
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert (config["dataset"], config["resolution"], config["channels"]) == ("custom", 32, 3)
    raekit("fit-density", run, "--density", "gmm", "--components", "2")
    raekit("sample", run, "--density", "gmm", "--components", "2", "--n", "4", "--out",
           tmp_path / "s.npz")  # fmt: skip
    with np.load(tmp_path / "s.npz") as samples:
        assert samples["images"].shape == (4, 3, 32, 32)
    if not _has_inception():
        pytest.skip("Inception weights unavailable for evaluate")
    out = raekit("evaluate", run, "--n", "4", "--densities", "gaussian")
    summary = json.loads(out.stdout)
    assert summary["extractor"] == "inception" and summary["dataset"] == "custom"
    assert set(summary["fid"]) == {"rec", "gaussian", "interp"}
    assert all(np.isfinite(v) for v in summary["fid"].values())
    # the run's samples against the folder, and the folder against itself
    fid = raekit("fid", folder, run, "--n", "6", "--density", "gaussian", "--resolution", "32")
    assert np.isfinite(float(fid.stdout.split()[1])) and float(fid.stdout.split()[1]) > 0


def test_an_npy_array_trains_samples_and_resumes_after_a_move(tmp_path):
    np.save(tmp_path / "x.npy", _images(30, 28, seed=1).mean(axis=3).astype(np.uint8))
    run = tmp_path / "run"
    raekit("train", "--data", tmp_path / "x.npy", "--preset", "tiny", "--epochs", "1",
           "--out", run, "--set", "batch_size=8", "data_seed=5")  # fmt: skip
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert (config["resolution"], config["channels"], config["data_seed"]) == (32, 1, 5)
    raekit("fit-density", run, "--density", "gaussian")
    raekit("sample", run, "--density", "gaussian", "--n", "4", "--out", tmp_path / "s.png")
    shutil.move(tmp_path / "x.npy", tmp_path / "moved.npy")
    raekit("train", "--out", run, "--resume", "--epochs", "2", "--data", tmp_path / "moved.npy")
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["data"] == str(tmp_path / "moved.npy") and config["epochs"] == 2


def test_mixed_sizes_and_modes_train_through_the_cli(tmp_path):
    """CMYK, palette, 16-bit, alpha, greyscale and RGB images of different sizes in one folder:
    each converted to RGB, centre-cropped and resized; the run says how many it read."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    base = _images(12, 48, seed=2)
    for i, image in enumerate(base):
        rgb = Image.fromarray(image).resize((40 + 4 * i, 36 + 3 * i))
        kind = i % 6
        if kind == 0:
            rgb.convert("CMYK").save(folder / f"{i}.jpg", quality=95)
        elif kind == 1:
            rgb.convert("P").save(folder / f"{i}.png")
        elif kind == 2:
            grey = np.asarray(rgb.convert("L")).astype(np.uint16) * 257
            Image.fromarray(grey).save(folder / f"{i}.png")
        elif kind == 3:
            rgb.convert("RGBA").save(folder / f"{i}.png")
        elif kind == 4:
            rgb.convert("L").save(folder / f"{i}.png")
        else:
            rgb.save(folder / f"{i}.jpg")
    run = tmp_path / "run"
    out = raekit("train", "--data", folder, "--preset", "tiny", "--epochs", "1", "--out", run,
                 "--set", "batch_size=4", "resolution=32", "--device", "cpu")  # fmt: skip
    assert "on 12 images" in out.stdout and "(3x32x32)" in out.stdout
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert (config["resolution"], config["channels"]) == (32, 3)
