"""scikit-learn's 1,797 real 8x8 digits, upsampled to 32x32: always available, for fast runs."""
from __future__ import annotations

import numpy as np
from PIL import Image

from raekit.data.splits import ImageSplits


def read_digits(seed: int = 0) -> ImageSplits:
    """Seeded split: 270 validation, 270 test, the remaining 1,257 for training."""
    from sklearn.datasets import load_digits
    bunch = load_digits()
    small = np.clip(np.round(bunch.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    images = np.stack([np.asarray(Image.fromarray(im).resize((32, 32), Image.BILINEAR)) for im in small])[:, None]
    labels = bunch.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(images))
    valid, test, train = order[:270], order[270:540], order[540:]
    return ImageSplits("digits", images[train], images[valid], images[test], labels[train], labels[valid], labels[test])
