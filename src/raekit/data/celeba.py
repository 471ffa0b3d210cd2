"""CelebA: aligned images + the official `list_eval_partition.txt` (0 train, 1 valid, 2 test).

Each image is centre-cropped to 140x140 and resized to 64x64. Decoding 200k JPEGs is slow, so
the decoded arrays are cached as .npy files (read back with allow_pickle=False).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from raekit.atomic import atomic_path
from raekit.cache import cache_dir
from raekit.data.splits import ImageSplits
from raekit.errors import RaekitError

IMAGES, PARTITION, CROP, SIZE = "img_align_celeba", "list_eval_partition.txt", 140, 64


def preprocess(image: Image.Image) -> np.ndarray:
    """Centre crop 140 and bilinear resize to 64: (3, 64, 64) uint8."""
    image = image.convert("RGB")
    w, h = image.size
    if w < CROP or h < CROP:
        raise RaekitError(f"CelebA image of {w}x{h} is smaller than the {CROP}x{CROP} crop")
    left, top = (w - CROP) // 2, (h - CROP) // 2
    image = image.crop((left, top, left + CROP, top + CROP)).resize((SIZE, SIZE), Image.BILINEAR)
    return np.asarray(image, dtype=np.uint8).transpose(2, 0, 1)


def read_partition(path: Path) -> dict[int, list[str]]:
    splits: dict[int, list[str]] = {0: [], 1: [], 2: []}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise RaekitError(f"{path}:{number}: expected '<image> <0|1|2>', got {line!r}")
        splits[int(parts[1])].append(parts[0])
    return splits


def _decode(folder: Path, names: list[str]) -> np.ndarray:
    out = np.empty((len(names), 3, SIZE, SIZE), dtype=np.uint8)
    for i, name in enumerate(names):
        try:
            with Image.open(folder / name) as image:
                out[i] = preprocess(image)
        except (OSError, SyntaxError) as exc:
            raise RaekitError(f"cannot read CelebA image {folder / name}: {exc}") from None
    return out


def read_celeba(root: Path) -> ImageSplits:
    folder, partition = root / IMAGES, root / PARTITION
    if not folder.is_dir() or not partition.is_file():
        raise RaekitError(f"celeba: expected {IMAGES}/ and {PARTITION} in {root}; download the aligned "
                          f"images (img_align_celeba.zip) and the partition file from the CelebA site "
                          f"(mmlab.ie.cuhk.edu.hk/projects/CelebA.html) and unpack them there")
    splits = read_partition(partition)
    key = hashlib.sha256(partition.read_bytes() + str(folder.resolve()).encode()).hexdigest()[:16]
    arrays = [_cached(key, part, folder, splits[part]) for part in (0, 1, 2)]
    return ImageSplits("celeba", *arrays)


def _cached(key: str, part: int, folder: Path, names: list[str]) -> np.ndarray:
    path = cache_dir() / "datasets" / "celeba" / f"decoded-{key}-{part}.npy"
    if path.is_file():
        return np.load(path, allow_pickle=False)
    array = _decode(folder, names)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, array, allow_pickle=False)
    return array
