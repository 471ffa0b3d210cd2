"""scikit-learn's 1,797 real 8x8 digits, upsampled to 32x32: always available, for fast runs."""

from __future__ import annotations

import numpy as np
from PIL import Image

from raekit.data.splits import ImageSplits

N_VALID = N_TEST = 270


def read_digits(seed: int = 0) -> ImageSplits:
    """Values 0..16 scaled to 0..255, bilinear 8x8 -> 32x32; a seeded split of 1,257/270/270."""
    # slow to import; only this path needs it
    from sklearn.datasets import load_digits

    bunch = load_digits()
    small = np.clip(np.rint(bunch.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    big = [
        np.asarray(Image.fromarray(im).resize((32, 32), Image.Resampling.BILINEAR)) for im in small
    ]
    images, labels = np.stack(big)[:, None], bunch.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(images))
    valid, test, train = (
        order[:N_VALID],
        order[N_VALID : N_VALID + N_TEST],
        order[N_VALID + N_TEST :],
    )
    return ImageSplits(
        "digits",
        images[train],
        images[valid],
        images[test],
        labels[train],
        labels[valid],
        labels[test],
    )
