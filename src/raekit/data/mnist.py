"""MNIST and Fashion-MNIST: IDX files, or the classic 50k/10k/10k `mnist.pkl.gz`.

Training images 60k -> the first 50k train, the last 10k validation (the split of the classic
file), test 10k. 28x28 digits are zero-padded to 32x32 (Appendix C).
"""
from __future__ import annotations

import gzip
import io
import pickle
from pathlib import Path

import numpy as np

from raekit.data.idx import find_idx, read_idx
from raekit.data.splits import ImageSplits
from raekit.errors import RaekitError

IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")
PICKLE_FILE = "mnist.pkl.gz"
N_VALID = 10_000


def pad_to_32(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 1, 32, 32), 2 zero pixels on every side."""
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise RaekitError(f"expected 28x28 images, got shape {images.shape[1:]}")
    return np.pad(images, ((0, 0), (2, 2), (2, 2)))[:, None]


def read_idx_dataset(name: str, root: Path) -> ImageSplits:
    paths = [find_idx(root, stem) for stem in IDX_FILES]
    missing = [stem for stem, path in zip(IDX_FILES, paths) if path is None]
    if missing:
        raise RaekitError(f"{name}: missing {', '.join(missing)} (raw or .gz) in {root}")
    train_x, train_y, test_x, test_y = (read_idx(p) for p in paths)
    if len(train_x) <= N_VALID:
        raise RaekitError(f"{name}: {len(train_x)} training images; need more than {N_VALID} to hold out validation")
    split = len(train_x) - N_VALID
    return ImageSplits(name, pad_to_32(train_x[:split]), pad_to_32(train_x[split:]), pad_to_32(test_x),
                       train_y[:split].astype(np.int64), train_y[split:].astype(np.int64), test_y.astype(np.int64))


class _ArraysOnly(pickle.Unpickler):
    """Admits what numpy arrays need and nothing else: a crafted file cannot run code."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"),
               ("_codecs", "encode")}  # Python 3 pickles (protocol 2) store array bytes through it

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise RaekitError(f"refusing to unpickle {module}.{name}: {PICKLE_FILE} may hold numpy arrays only")
        return super().find_class(module, name)


def read_pickle_dataset(path: Path) -> ImageSplits:
    """The classic file: ((train_x, train_y), (valid_x, valid_y), (test_x, test_y)), pixels k/256."""
    try:
        raw = gzip.decompress(path.read_bytes())
        splits = _ArraysOnly(io.BytesIO(raw), encoding="latin1").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError) as exc:
        raise RaekitError(f"{path} is corrupt or truncated ({exc.__class__.__name__})") from None
    try:
        (tx, ty), (vx, vy), (sx, sy) = splits
    except (TypeError, ValueError):
        raise RaekitError(f"{path} does not hold the (train, valid, test) pairs of mnist.pkl.gz") from None

    def images(x):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != 784 or not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
            raise RaekitError(f"{path}: expected N x 784 pixel values in [0, 1]")
        return pad_to_32(np.clip(np.round(x * 256), 0, 255).astype(np.uint8).reshape(-1, 28, 28))

    return ImageSplits("mnist", images(tx), images(vx), images(sx),
                       np.asarray(ty, np.int64), np.asarray(vy, np.int64), np.asarray(sy, np.int64))


def read_mnist_like(name: str, root: Path) -> ImageSplits:
    if name == "mnist" and (root / PICKLE_FILE).is_file() and find_idx(root, IDX_FILES[0]) is None:
        return read_pickle_dataset(root / PICKLE_FILE)
    return read_idx_dataset(name, root)
