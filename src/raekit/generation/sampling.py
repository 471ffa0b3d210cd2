"""Images from a model: samples of a density's codes and interpolation strips between images."""

from __future__ import annotations

import numpy as np

from raekit.errors import RaekitError
from raekit.generation.codes import decode_codes, encode_images
from raekit.generation.interpolate import METHODS, lerp, slerp


def sample_images(model, density, n: int, seed: int = 0) -> np.ndarray:
    return decode_codes(model, density.sample(n, seed=seed))


def interpolate_images(
    model, images_a: np.ndarray, images_b: np.ndarray, steps: int = 8, method: str = "slerp"
) -> np.ndarray:
    """(pairs, steps, C, H, W) strips between the codes of images_a[i] and images_b[i]."""
    if method not in METHODS:
        raise RaekitError(
            f"unknown interpolation method {method!r} (choices: {', '.join(METHODS)})"
        )
    za, zb = encode_images(model, images_a), encode_images(model, images_b)
    t = np.linspace(0.0, 1.0, steps)
    path = (slerp if method == "slerp" else lerp)(za, zb, t)
    flat = decode_codes(model, path.reshape(-1, za.shape[1]))
    return flat.reshape(len(za), steps, *flat.shape[1:])
