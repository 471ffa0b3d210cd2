"""Image files as raekit reads them: which files a folder or list names, and one file decoded to
uint8 (H, W, C) pixels, whatever its mode.

Modes are converted, not refused: palette, CMYK and YCbCr images become RGB, alpha is dropped
(the colour channels are kept as stored), 16-bit greyscale is scaled to 8 bits (v / 257).
A file that cannot be decoded (corrupt, truncated, not an image) is an error naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from raekit.errors import RaekitError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_GREY_MODES = {"1", "L", "LA", "La"}
_WIDE_GREY_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N"}


def folder_images(folder: Path) -> list[Path]:
    """Every image file under `folder` (recursive, hidden entries skipped), in sorted order."""
    found, others = [], []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(root) / name
            (found if path.suffix.lower() in IMAGE_SUFFIXES else others).append(path)
    if not found:
        what = (
            f"only {len(others)} other file(s), e.g. {others[0].name}"
            if others
            else "no files at all"
        )
        raise RaekitError(
            f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) found; it holds {what}"
        )
    return found


def listed_images(list_file: Path) -> list[Path]:
    """The image paths a text file lists, one per line (relative ones are relative to the list's
    folder; blank lines and lines starting with # are skipped)."""
    try:
        lines = list_file.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise RaekitError(f"{list_file}: not a UTF-8 text file of image paths") from None
    paths = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        path = Path(line).expanduser()
        path = path if path.is_absolute() else list_file.parent / path
        if not path.is_file():
            raise RaekitError(f"{list_file}:{number}: no such image file {line!r}")
        paths.append(path)
    if not paths:
        raise RaekitError(f"{list_file}: lists no image paths")
    return paths


def image_size(path: Path) -> tuple[int, int, bool]:
    """(height, width, has colour) read from the file's header, without decoding its pixels."""
    # slow to import; only this path needs it
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
            return height, width, _is_colour(image.mode)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise RaekitError(f"{path}: not a readable image ({_reason(exc)})") from None


def read_image(path: Path, colour: bool, resolution: int | None) -> np.ndarray:
    """The image at `path` as uint8 (H, W, 1 or 3); centre-cropped to a square and resized to
    `resolution` when one is given."""
    # slow to import; only this path needs it
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()  # decodes now, so a truncated file fails here, named
            image = to_8bit(image, path)
            image = image.convert("RGB" if colour else "L")
            if resolution is not None:
                image = crop_and_resize(image, resolution)
            pixels = np.asarray(image, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise RaekitError(f"{path}: not a readable image ({_reason(exc)})") from None
    return pixels[:, :, None] if pixels.ndim == 2 else pixels


def to_8bit(image, path: Path):
    """An image in a mode PIL converts to L or RGB faithfully: 16-bit and 32-bit greyscale are
    scaled down (PIL's own conversion clips them), palette images are expanded."""
    # slow to import; only this path needs it
    from PIL import Image

    if image.mode in _WIDE_GREY_MODES:
        values = np.asarray(image).astype(np.int64)
        if values.min() < 0 or values.max() > 65535:
            raise RaekitError(
                f"{path}: integer pixels outside 0..65535 ({values.min()}..{values.max()})"
            )
        return Image.fromarray(np.round(values / 257.0).astype(np.uint8), mode="L")
    if image.mode == "F":
        raise RaekitError(
            f"{path}: floating-point images are not supported; save it as 8 or 16 bit"
        )
    if image.mode in ("P", "PA"):
        return image.convert("RGBA")
    if image.mode in ("LA", "La"):
        return image.convert("L")
    return image


def crop_and_resize(image, resolution: int):
    """The largest centred square of `image`, resized (Lanczos) to resolution x resolution."""
    # slow to import; only this path needs it
    from PIL import Image

    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    square = image.crop((left, top, left + side, top + side))
    if side == resolution:
        return square
    return square.resize((resolution, resolution), Image.Resampling.LANCZOS)


def _is_colour(mode: str) -> bool:
    return mode not in _GREY_MODES and mode not in _WIDE_GREY_MODES and mode != "F"


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return text[:120]
