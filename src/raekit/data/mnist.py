"""MNIST and Fashion-MNIST from IDX files, or MNIST from the classic `mnist.pkl.gz`.

IDX training images 60k -> the first 50k train, the last 10k validation (the split of the
classic file); test 10k. The 28x28 images are zero-padded to 32x32 (the paper's Appendix C).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from raekit.data.files import first_file, missing_files
from raekit.data.idx import idx_names, read_idx
from raekit.data.mnist_pickle import PICKLE_FILE, read_mnist_pickle
from raekit.data.splits import ImageSplits, class_labels, hold_out
from raekit.errors import RaekitError

IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
N_VALID = 10_000


def pad_to_32(images: np.ndarray, source: str = "images") -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 1, 32, 32), 2 zero pixels on every side."""
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise RaekitError(f"{source}: expected 28x28 images, got shape {images.shape}")
    if images.dtype != np.uint8:
        raise RaekitError(f"{source}: expected uint8 pixels, got {images.dtype}")
    return np.pad(images, ((0, 0), (2, 2), (2, 2)))[:, None]


def read_mnist_like(name: str, root: Path) -> ImageSplits:
    """All four IDX files if present, else (MNIST only) `mnist.pkl.gz`."""
    paths = [first_file(root, idx_names(stem)) for stem in IDX_FILES]
    if all(paths):
        return _from_idx(name, paths)
    if name == "mnist" and (root / PICKLE_FILE).is_file():
        return _from_pickle(root / PICKLE_FILE)
    missing = [stem for stem, path in zip(IDX_FILES, paths) if path is None]
    wanted = (
        ", ".join(missing) + " (raw or .gz)" + (f", nor {PICKLE_FILE}" if name == "mnist" else "")
    )
    raise missing_files(name, root, wanted)


def _from_idx(name: str, paths: list[Path]) -> ImageSplits:
    train_x, train_y, test_x, test_y = (read_idx(p) for p in paths)
    train_y, test_y = class_labels(str(paths[1]), train_y), class_labels(str(paths[3]), test_y)
    train_x, test_x = pad_to_32(train_x, str(paths[0])), pad_to_32(test_x, str(paths[2]))
    if len(test_x) != len(test_y):
        raise RaekitError(
            f"{name}: {paths[3].name} has {len(test_y)} labels for {len(test_x)} test images"
        )
    train_x, valid_x, train_y, valid_y = hold_out(name, train_x, train_y, N_VALID)
    return ImageSplits(name, train_x, valid_x, test_x, train_y, valid_y, test_y)


def _from_pickle(path: Path) -> ImageSplits:
    (tx, ty), (vx, vy), (sx, sy) = read_mnist_pickle(path)
    labels = [
        class_labels(f"{path} {split}", y)
        for split, y in zip(("train", "valid", "test"), (ty, vy, sy))
    ]
    images = [pad_to_32(x, str(path)) for x in (tx, vx, sx)]
    return ImageSplits("mnist", *images, *labels)
