"""Images as every metric takes them: checked float32 (N, C, H, W) in [0, 1], in batches."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from raekit.errors import RaekitError

_RANGE_SLACK = 1e-4  # float images may overshoot [0, 1] by rounding; more than this is a mistake


def as_image_tensor(images) -> torch.Tensor:
    """Check images and return them as float32 (N, C, H, W) in [0, 1]."""
    x = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.asarray(images))
    if x.ndim != 4 or x.shape[1] not in (1, 3) or x.shape[0] == 0:
        raise RaekitError(
            f"images must be (N, 1 or 3, H, W) with N > 0, got shape {tuple(x.shape)}"
        )
    if x.dtype == torch.uint8:
        return x.float() / 255.0
    if not x.is_floating_point():
        raise RaekitError(f"images must be uint8 or float in [0, 1], got dtype {x.dtype}")
    x = x.float()
    if not torch.isfinite(x).all():
        raise RaekitError("images contain NaN or Inf values")
    low, high = float(x.min()), float(x.max())
    if low < -_RANGE_SLACK or high > 1 + _RANGE_SLACK:
        raise RaekitError(f"float images must lie in [0, 1], got values in [{low:.4g}, {high:.4g}]")
    return x.clamp(0.0, 1.0)


def batches(images: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    for start in range(0, len(images), batch_size):
        yield images[start : start + batch_size]
