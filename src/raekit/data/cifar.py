"""CIFAR-10, binary version: records of 1 label byte + 3072 pixel bytes (R, G, B planes of 32x32).

Training 50k -> the first 40k train, the last 10k validation (disjoint from train); test 10k.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from raekit.data.files import missing_files
from raekit.data.splits import ImageSplits, class_labels, hold_out
from raekit.errors import RaekitError

RECORD = 1 + 3 * 32 * 32
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
FOLDER = "cifar-10-batches-bin"
N_VALID = 10_000


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 3, 32, 32) uint8, labels (N,) int64) of one binary batch file."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % RECORD:
        raise RaekitError(
            f"{path} is corrupt or truncated: {raw.size} bytes is not a whole number "
            f"of {RECORD}-byte CIFAR-10 records"
        )
    records = raw.reshape(-1, RECORD)
    return records[:, 1:].reshape(-1, 3, 32, 32), class_labels(str(path), records[:, 0])


def batch_folder(root: Path) -> Path:
    """`root/cifar-10-batches-bin` when it exists (the archive's layout), else root itself."""
    return root / FOLDER if (root / FOLDER).is_dir() else root


def read_cifar10(root: Path) -> ImageSplits:
    """The six batch files under root (or root/cifar-10-batches-bin)."""
    folder = batch_folder(root)
    missing = [n for n in (*TRAIN_FILES, TEST_FILE) if not (folder / n).is_file()]
    if missing:
        where = "" if folder != root else f"{FOLDER}/ holding "
        raise missing_files("cifar10", folder, where + ", ".join(missing))
    parts = [read_batch(folder / n) for n in TRAIN_FILES]
    train_x, train_y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    test_x, test_y = read_batch(folder / TEST_FILE)
    train_x, valid_x, train_y, valid_y = hold_out("cifar10", train_x, train_y, N_VALID)
    return ImageSplits("cifar10", train_x, valid_x, test_x, train_y, valid_y, test_y)
