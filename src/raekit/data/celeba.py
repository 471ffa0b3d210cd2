"""CelebA: aligned images + the official `list_eval_partition.txt` (0 train, 1 valid, 2 test).

Each image is centre-cropped to 140x140 and resized to 64x64 with Pillow's bilinear filter
(which widens its support when shrinking, so it antialiases). Decoding 200k JPEGs is slow, so
the decoded arrays are cached as .npy files (read back with allow_pickle=False).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from raekit.data.files import missing_files
from raekit.data.splits import ImageSplits
from raekit.errors import RaekitError
from raekit.io.atomic import atomic_path
from raekit.io.cache import cache_dir

IMAGES, PARTITION, CROP, SIZE = "img_align_celeba", "list_eval_partition.txt", 140, 64
LAYOUT = f"{IMAGES}/000001.jpg ... and {PARTITION}"


def preprocess(image: Image.Image) -> np.ndarray:
    """Centre crop 140x140, bilinear resize to 64x64: (3, 64, 64) uint8."""
    image = image.convert("RGB")
    w, h = image.size
    if w < CROP or h < CROP:
        raise RaekitError(f"CelebA image of {w}x{h} is smaller than the {CROP}x{CROP} crop")
    left, top = (w - CROP) // 2, (h - CROP) // 2
    image = image.crop((left, top, left + CROP, top + CROP)).resize(
        (SIZE, SIZE), Image.Resampling.BILINEAR
    )
    return np.asarray(image, dtype=np.uint8).transpose(2, 0, 1)


def read_partition(path: Path) -> dict[int, list[str]]:
    """Image names per split (0 train, 1 valid, 2 test) from lines '000001.jpg 0'."""
    splits: dict[int, list[str]] = {0: [], 1: [], 2: []}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or parts[1] not in ("0", "1", "2") or Path(parts[0]).name != parts[0]:
            raise RaekitError(
                f"{path}:{number}: expected '<image file name> <0|1|2>', got {line!r}"
            )
        splits[int(parts[1])].append(parts[0])
    return splits


def read_celeba(root: Path) -> ImageSplits:
    """The official splits of the images under root/img_align_celeba (decoded once, then cached)."""
    folder, partition = root / IMAGES, root / PARTITION
    if not folder.is_dir() or not partition.is_file():
        raise missing_files("celeba", root, LAYOUT)
    splits = read_partition(partition)
    # The key changes when the partition, the folder or its list of files changes.
    stamp = f"{folder.resolve()}|{folder.stat().st_mtime_ns}".encode()
    key = hashlib.sha256(partition.read_bytes() + stamp).hexdigest()[:16]
    arrays = [_cached(key, part, folder, splits[part]) for part in (0, 1, 2)]
    return ImageSplits("celeba", *arrays)


def _decode(folder: Path, names: list[str]) -> np.ndarray:
    out = np.empty((len(names), 3, SIZE, SIZE), dtype=np.uint8)
    for i, name in enumerate(names):
        try:
            with Image.open(folder / name) as image:
                out[i] = preprocess(image)
        except (OSError, SyntaxError, ValueError, RaekitError) as exc:
            raise RaekitError(f"cannot read CelebA image {folder / name}: {exc}") from None
    return out


def _cached(key: str, part: int, folder: Path, names: list[str]) -> np.ndarray:
    path = cache_dir() / "datasets" / "celeba" / f"decoded-{key}-{part}.npy"
    if path.is_file():
        return np.load(path, allow_pickle=False)
    array = _decode(folder, names)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, array, allow_pickle=False)
    return array
