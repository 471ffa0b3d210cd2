"""Images from a model: samples of a density's codes and interpolation strips between images."""

from __future__ import annotations

import numpy as np

from raekit.generation.codes import decode_codes, encode_images
from raekit.generation.interpolate import interpolation_path


def sample_images(model, density, n: int, seed: int = 0) -> np.ndarray:
    return decode_codes(model, density.sample(n, seed=seed))


def interpolate_images(
    model,
    images_a: np.ndarray,
    images_b: np.ndarray,
    steps: int = 8,
    method: str = "slerp",
    origin=None,
) -> np.ndarray:
    """(pairs, steps, C, H, W) strips between the codes of images_a[i] and images_b[i];
    ``origin``: the centre of the interpolation (see `interpolation_path`)."""
    za, zb = encode_images(model, images_a), encode_images(model, images_b)
    path = interpolation_path(za, zb, np.linspace(0.0, 1.0, steps), method, origin)
    flat = decode_codes(model, path.reshape(-1, za.shape[1]))
    return flat.reshape(len(za), steps, *flat.shape[1:])
