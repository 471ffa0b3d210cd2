"""Image arrays from .npy / .npz files and from Python: checked and brought to uint8 (N, C, H, W).

Accepted layouts: (N, H, W) greyscale, (N, H, W, C) with C = 1 or 3, and raekit's own
(N, C, H, W) (what `raekit sample --out x.npz` writes), recognised when the second axis is 1 or 3
and the last is not. Pixels are uint8 (0..255) or floats in [0, 1], which become uint8 as
round(255 x).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from raekit.data.image_files import crop_and_resize
from raekit.errors import RaekitError

_RANGE_SLACK = 1e-4  # float pixels may overshoot [0, 1] by rounding; more is a mistake


def load_array_file(path: Path) -> np.ndarray:
    """The image array stored in a .npy file, or in a .npz under 'images' (or as its only array)."""
    try:
        if path.suffix.lower() == ".npy":
            return np.load(path, allow_pickle=False)
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            if "images" in names:
                return archive["images"]
            if len(names) == 1:
                return archive[names[0]]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise RaekitError(f"{path}: not a readable numpy array ({_reason(exc)})") from None
    raise RaekitError(
        f"{path}: holds arrays {', '.join(names) or '(none)'}; name the images 'images' "
        f"or store one array"
    )


def to_nchw_uint8(array, source: str) -> np.ndarray:
    """`array` checked (rank, dtype, range, finiteness) and returned as uint8 (N, C, H, W)."""
    array = np.asarray(array)
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4 and not (array.shape[1] in (1, 3) and array.shape[3] not in (1, 3)):
        if array.shape[3] not in (1, 3):
            raise RaekitError(
                f"{source}: expected (N, H, W, C) images with C = 1 or 3, got shape {array.shape}"
            )
        array = array.transpose(0, 3, 1, 2)
    elif array.ndim != 4:
        raise RaekitError(
            f"{source}: expected images of shape (N, H, W) or (N, H, W, C), got {array.ndim} "
            f"dimensions {array.shape}"
        )
    if array.shape[0] == 0 or min(array.shape[2:]) == 0:
        raise RaekitError(f"{source}: holds no images (shape {array.shape})")
    return np.ascontiguousarray(_as_uint8(array, source))


def _as_uint8(array: np.ndarray, source: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if not np.issubdtype(array.dtype, np.floating):
        raise RaekitError(
            f"{source}: pixels must be uint8 (0..255) or floats in [0, 1], got {array.dtype}"
        )
    finite = np.isfinite(array)
    if not finite.all():
        where = np.unravel_index(int(np.argmin(finite)), array.shape)
        raise RaekitError(f"{source}: holds NaN or infinite pixels (first at index {where[0]})")
    low, high = float(array.min()), float(array.max())
    if low < -_RANGE_SLACK or high > 1 + _RANGE_SLACK:
        raise RaekitError(
            f"{source}: float pixels must lie in [0, 1], found {low:.4g}..{high:.4g} "
            f"(uint8 arrays take 0..255)"
        )
    return np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)


def resize_array(images: np.ndarray, resolution: int) -> np.ndarray:
    """uint8 (N, C, H, W) centre-cropped and resized to (N, C, resolution, resolution)."""
    # slow to import; only this path needs it
    from PIL import Image

    if images.shape[2] == images.shape[3] == resolution:
        return images
    out = np.empty((len(images), images.shape[1], resolution, resolution), np.uint8)
    for i, image in enumerate(images):
        pixels = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
        resized = np.asarray(crop_and_resize(Image.fromarray(pixels), resolution))
        out[i] = resized[None] if resized.ndim == 2 else resized.transpose(2, 0, 1)
    return out


def from_python(data, source: str = "data") -> np.ndarray:
    """An ndarray, a torch tensor or a torch Dataset of image tensors as uint8 (N, C, H, W).

    Tensors and Dataset items are taken as torch lays images out, (C, H, W); a Dataset item may
    be an (image, label) pair, whose label is ignored."""
    # slow to import; only this path needs it
    import torch

    if isinstance(data, np.ndarray):
        return to_nchw_uint8(data, source)
    if isinstance(data, torch.Tensor):
        return _tensor_images(data, source)
    if isinstance(data, torch.utils.data.Dataset):
        return _dataset_images(data, source)
    raise RaekitError(
        f"{source}: expected a path, an ndarray, a torch tensor or a torch Dataset of image "
        f"tensors, got {type(data).__name__}"
    )


def _tensor_images(tensor, source: str) -> np.ndarray:
    array = tensor.detach().cpu().numpy()
    if array.ndim == 4 and array.shape[1] in (1, 3):  # torch's (N, C, H, W)
        array = array.transpose(0, 2, 3, 1)
    return to_nchw_uint8(array, source)


def _dataset_images(dataset, source: str) -> np.ndarray:
    # slow to import; only this path needs it
    import torch

    try:
        count = len(dataset)
    except TypeError:
        raise RaekitError(f"{source}: the Dataset has no length") from None
    items = []
    for i in range(count):
        item = dataset[i]
        if isinstance(item, (tuple, list)):
            item = item[0]
        if not isinstance(item, torch.Tensor) or item.ndim not in (2, 3):
            raise RaekitError(
                f"{source}: item {i} is not an image tensor (C, H, W), got "
                f"{getattr(item, 'shape', type(item).__name__)}"
            )
        items.append(item if item.ndim == 3 else item[None])
    if not items:
        raise RaekitError(f"{source}: the Dataset is empty")
    shapes = {tuple(x.shape) for x in items}
    if len(shapes) != 1:
        raise RaekitError(f"{source}: items have different shapes {sorted(shapes)[:3]}")
    return _tensor_images(torch.stack(items), source)


def _reason(exc: Exception) -> str:
    return (" ".join(str(exc).split()) or exc.__class__.__name__)[:120]
