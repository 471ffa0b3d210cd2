"""Your own images: a folder (recursive), a text file listing image paths, or an .npy / .npz array,
read into uint8 (N, C, H, W) at one square resolution, with a fingerprint of what was read and a
seeded train / validation / test split.

The fingerprint is a SHA-256 over the sorted file list (relative paths) and every file's bytes, or
over an array file's bytes: a run records it, and every later read of the run's data is checked
against it, so evaluation, densities and resume see exactly the images training saw.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from raekit.data.image_arrays import load_array_file, resize_array, to_nchw_uint8
from raekit.data.image_files import folder_images, image_size, listed_images, read_image
from raekit.data.splits import ImageSplits
from raekit.errors import RaekitError
from raekit.io.atomic import atomic_path
from raekit.io.cache import cache_dir, read_cached
from raekit.io.progress import progress

RESOLUTIONS = (32, 64, 128)
ARRAY_SUFFIXES = (".npy", ".npz")
VALID_FRACTION = TEST_FRACTION = 0.1  # of the images; at least one image each
OWN_DATASET = "custom"


@dataclass(frozen=True)
class OwnImages:
    """Every image of a source, in source order, at one resolution."""

    source: str  # absolute path of the folder, list or array file
    kind: str  # "folder", "list" or "array"
    images: np.ndarray  # uint8 (N, C, R, R)
    sha256: str  # of the file list and the files' bytes (see the module docstring)

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def resolution(self) -> int:
        return int(self.images.shape[2])


def source_kind(path: Path) -> str:
    """ "folder", "array" or "list" for an existing path; an error for anything else."""
    if path.is_dir():
        return "folder"
    if not path.exists():
        raise RaekitError(f"{path}: no such file or folder")
    if path.suffix.lower() in ARRAY_SUFFIXES:
        return "array"
    if path.suffix.lower() in (".txt", ".lst", ".list", ""):
        return "list"
    raise RaekitError(
        f"{path}: expected a folder of images, an .npy / .npz array or a .txt list of image paths"
    )


def nearest_resolution(side: float) -> int:
    """The resolution of RESOLUTIONS closest to `side` on a log scale (halving = doubling)."""
    return min(RESOLUTIONS, key=lambda r: abs(math.log(r / max(side, 1.0))))


def check_resolution(resolution: int | None) -> None:
    if resolution is not None and resolution not in RESOLUTIONS:
        raise RaekitError(
            f"resolution must be one of {', '.join(map(str, RESOLUTIONS))}, got {resolution}"
        )


def read_own_images(
    path: str | Path,
    resolution: int | None = None,
    *,
    any_size: bool = False,
    channels: int | None = None,
    expect_sha256: str | None = None,
) -> OwnImages:
    """The images at `path`, centre-cropped and resized to `resolution` (None: the nearest of
    RESOLUTIONS to their median shorter side; with `any_size`, None keeps one common size as is).
    `channels` forces greyscale (1) or RGB (3); `expect_sha256` refuses images that changed."""
    check_resolution(resolution)
    path = Path(path).expanduser().resolve()
    kind = source_kind(path)
    files = (
        None
        if kind == "array"
        else folder_images(path)
        if kind == "folder"
        else listed_images(path)
    )
    digest = (
        _file_digest(path, hashlib.sha256()).hexdigest()
        if files is None
        else files_digest(files, path)
    )
    if expect_sha256 is not None and digest != expect_sha256:
        raise RaekitError(
            f"the images at {path} have changed since the run was trained (SHA-256 "
            f"{expect_sha256[:12]}... recorded, {digest[:12]}... now); restore them, or train a "
            f"new run on them"
        )
    if files is None:
        images = _array_at(to_nchw_uint8(load_array_file(path), str(path)), resolution, any_size)
        if channels == 3 and images.shape[1] == 1:
            images = np.repeat(images, 3, axis=1)
        if channels == 1 and images.shape[1] == 3:  # ITU-R 601 luma, as PIL's convert("L")
            weights = np.array([299, 587, 114]).reshape(1, 3, 1, 1)
            images = ((images * weights).sum(axis=1, keepdims=True) / 1000 + 0.5).astype(np.uint8)
        return OwnImages(str(path), kind, images, digest)
    cached = _decoded(digest, resolution, channels) if expect_sha256 else None
    if cached is not None:
        return OwnImages(str(path), kind, cached, digest)
    sizes = [image_size(f) for f in files]
    colour = channels == 3 if channels else any(c for _, _, c in sizes)
    if resolution is None:
        if any_size:
            _check_common_size(files, sizes)
        else:
            resolution = nearest_resolution(float(np.median([min(h, w) for h, w, _ in sizes])))
    images = np.stack(
        [
            read_image(f, colour, resolution).transpose(2, 0, 1)
            for f in progress(files, desc=f"reading {len(files)} images", unit="image")
        ]
    )
    if expect_sha256:
        _keep_decoded(images, digest)
    return OwnImages(str(path), kind, images, digest)


def _decoded_path(digest: str, resolution: int | None, channels: int | None) -> Path:
    return cache_dir() / "own-images" / f"{digest[:32]}-{resolution}-{channels}.npy"


def _decoded(digest: str, resolution: int | None, channels: int | None) -> np.ndarray | None:
    """A run's images decoded earlier (the files' fingerprint was just checked): decoding a
    folder of photos costs far more than hashing it."""

    def read(path: Path) -> np.ndarray:
        images = np.load(path, allow_pickle=False)
        if (
            images.dtype != np.uint8
            or images.ndim != 4
            or images.shape[1:]
            != (
                channels,
                resolution,
                resolution,
            )
        ):
            raise ValueError(f"array {images.dtype} {images.shape}")
        return images

    return read_cached(_decoded_path(digest, resolution, channels), read, "the decoded images")


def _keep_decoded(images: np.ndarray, digest: str) -> None:
    path = _decoded_path(digest, images.shape[2], images.shape[1])
    # only a cache: the images were read; if it cannot be written, the next run decodes again
    with (
        contextlib.suppress(RaekitError, OSError),
        atomic_path(path) as tmp,
        open(tmp, "wb") as handle,
    ):
        np.save(handle, images, allow_pickle=False)


def own_splits(config) -> ImageSplits:
    """The train / validation / test images of a run on own images, checked to be the images it
    was trained on."""
    own = read_own_images(
        config.data,
        config.resolution,
        channels=config.channels,
        expect_sha256=config.data_sha256,
    )
    return split_own(OWN_DATASET, own.images, config.data_seed)


def _array_at(images: np.ndarray, resolution: int | None, any_size: bool) -> np.ndarray:
    if resolution is None and not any_size:
        resolution = nearest_resolution(min(images.shape[2:]))
    return images if resolution is None else resize_array(images, resolution)


def _check_common_size(files: list[Path], sizes) -> None:
    """An error naming two images of different sizes, if there are any."""
    first = sizes[0][:2]
    for f, size in zip(files, sizes):
        if size[:2] != first:
            raise RaekitError(
                f"{f}: {size[0]}x{size[1]} pixels, but {files[0].name} has {first[0]}x{first[1]}; "
                f"give a resolution to centre-crop and resize them all"
            )


def files_digest(files: list[Path], root: Path) -> str:
    """SHA-256 over each file's path (relative to `root` where it lies below it) and bytes."""
    digest = hashlib.sha256()
    base = root if root.is_dir() else root.parent
    for f in files:
        try:
            name = f.resolve().relative_to(base)
        except ValueError:
            name = f.resolve()
        digest.update(str(name).encode() + b"\0")
        _file_digest(f, digest)
    return digest.hexdigest()


def array_digest(images: np.ndarray) -> str:
    """SHA-256 of an in-memory uint8 array, its shape included."""
    digest = hashlib.sha256(str(images.shape).encode())
    digest.update(np.ascontiguousarray(images).data)
    return digest.hexdigest()


def _file_digest(path: Path, digest):
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest


def split_own(name: str, images: np.ndarray, seed: int) -> ImageSplits:
    """A seeded random train / validation / test split (10% validation, 10% test, at least one
    image each); the same images and seed always give the same split."""
    n = len(images)
    if n < 3:
        raise RaekitError(f"{name}: {n} image(s); need at least 3 for train, validation and test")
    n_valid = max(1, round(n * VALID_FRACTION))
    n_test = max(1, round(n * TEST_FRACTION))
    order = np.random.default_rng(seed).permutation(n)
    test, valid, train = np.split(order, [n_test, n_test + n_valid])
    return ImageSplits(name, images[np.sort(train)], images[np.sort(valid)], images[np.sort(test)])
