"""CIFAR-10, binary version: records of 1 label byte + 3072 pixel bytes (R, G, B planes of 32x32).

Training 50k -> the first 40k train, the last 10k validation (held out, disjoint); test 10k.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from raekit.data.splits import ImageSplits
from raekit.errors import RaekitError

RECORD = 1 + 3 * 32 * 32
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
FOLDER = "cifar-10-batches-bin"
N_VALID = 10_000


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % RECORD:
        raise RaekitError(f"{path} is corrupt or truncated: {raw.size} bytes is not a whole number "
                          f"of {RECORD}-byte CIFAR-10 records")
    records = raw.reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise RaekitError(f"{path}: label {labels.max()} is not a CIFAR-10 class (0-9)")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def read_cifar10(root: Path) -> ImageSplits:
    folder = root / FOLDER if (root / FOLDER).is_dir() else root
    names = (*TRAIN_FILES, TEST_FILE)
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise RaekitError(f"cifar10: missing {', '.join(missing)} in {folder}; download "
                          f"https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz and run "
                          f"`raekit fetch cifar10 --from cifar-10-binary.tar.gz`")
    parts = [read_batch(folder / n) for n in TRAIN_FILES]
    train_x, train_y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    test_x, test_y = read_batch(folder / TEST_FILE)
    if len(train_x) <= N_VALID:
        raise RaekitError(f"cifar10: {len(train_x)} training images; need more than {N_VALID}")
    split = len(train_x) - N_VALID
    return ImageSplits("cifar10", train_x[:split], train_x[split:], test_x,
                       train_y[:split], train_y[split:], test_y)
