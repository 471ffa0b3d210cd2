"""The split container every image reader returns, and its checks."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from raekit.errors import RaekitError


@dataclass(frozen=True)
class ImageSplits:
    """uint8 images (N, C, H, W) per split, with int64 labels (None where a dataset has none)."""
    name: str
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    train_labels: np.ndarray | None = None
    valid_labels: np.ndarray | None = None
    test_labels: np.ndarray | None = None

    def __post_init__(self):
        for split in ("train", "valid", "test"):
            check_images(self.name, split, getattr(self, split))
            labels = getattr(self, f"{split}_labels")
            if labels is not None and len(labels) != len(getattr(self, split)):
                raise RaekitError(f"{self.name} {split}: {len(labels)} labels for {len(getattr(self, split))} images")
        shapes = {self.train.shape[1:], self.valid.shape[1:], self.test.shape[1:]}
        if len(shapes) != 1:
            raise RaekitError(f"{self.name}: splits have different image shapes {sorted(shapes)}")

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train.shape[1:])


def check_images(name: str, split: str, images: np.ndarray) -> None:
    if not isinstance(images, np.ndarray) or images.ndim != 4:
        raise RaekitError(f"{name} {split}: expected an (N, C, H, W) array, got shape {np.shape(images)}")
    if images.dtype != np.uint8:
        raise RaekitError(f"{name} {split}: expected uint8 pixels in [0, 255], got {images.dtype}")
    if len(images) == 0:
        raise RaekitError(f"{name} {split}: the split is empty")
    if images.shape[1] not in (1, 3):
        raise RaekitError(f"{name} {split}: expected 1 or 3 channels, got {images.shape[1]}")
