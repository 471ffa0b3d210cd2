"""The split container every image reader returns, and the checks every split passes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from raekit.errors import RaekitError


@dataclass(frozen=True)
class ImageSplits:
    """uint8 images (N, C, H, W) per split, with int64 labels (N,) (None where a dataset has none)."""

    name: str
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    train_labels: np.ndarray | None = None
    valid_labels: np.ndarray | None = None
    test_labels: np.ndarray | None = None

    def __post_init__(self):
        for split in ("train", "valid", "test"):
            images = getattr(self, split)
            check_images(self.name, split, images)
            check_labels(self.name, split, getattr(self, f"{split}_labels"), len(images))
        shapes = {self.train.shape[1:], self.valid.shape[1:], self.test.shape[1:]}
        if len(shapes) != 1:
            raise RaekitError(f"{self.name}: splits have different image shapes {sorted(shapes)}")

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of every image."""
        return tuple(self.train.shape[1:])


def check_images(name: str, split: str, images: np.ndarray) -> None:
    """Raise RaekitError unless `images` is a non-empty uint8 (N, 1 or 3, H, W) array."""
    if not isinstance(images, np.ndarray) or images.ndim != 4:
        raise RaekitError(
            f"{name} {split}: expected an (N, C, H, W) array, got shape {np.shape(images)}"
        )
    if images.dtype != np.uint8:
        raise RaekitError(f"{name} {split}: expected uint8 pixels in [0, 255], got {images.dtype}")
    if len(images) == 0:
        raise RaekitError(f"{name} {split}: the split is empty")
    if images.shape[1] not in (1, 3):
        raise RaekitError(f"{name} {split}: expected 1 or 3 channels, got {images.shape[1]}")


def check_labels(name: str, split: str, labels: np.ndarray | None, n_images: int) -> None:
    """Raise RaekitError unless `labels` is None or an int64 vector with one label per image."""
    if labels is None:
        return
    if not isinstance(labels, np.ndarray) or labels.ndim != 1 or labels.dtype != np.int64:
        raise RaekitError(
            f"{name} {split}: labels must be an int64 vector, got "
            f"{getattr(labels, 'dtype', type(labels).__name__)} of shape {np.shape(labels)}"
        )
    if len(labels) != n_images:
        raise RaekitError(f"{name} {split}: {len(labels)} labels for {n_images} images")


def class_labels(source: str, labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """`labels` as int64, checked to be a vector of class indices 0..n_classes-1 read from `source`."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise RaekitError(
            f"{source}: expected a vector of integer labels, got {labels.dtype} "
            f"of shape {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise RaekitError(
            f"{source}: labels must lie in 0..{n_classes - 1}, found {labels.min()}..{labels.max()}"
        )
    return labels.astype(np.int64)


def hold_out(name: str, images: np.ndarray, labels: np.ndarray, n_valid: int):
    """Split a training set into (train, valid) images and labels: the last `n_valid` are validation."""
    if len(images) != len(labels):
        raise RaekitError(
            f"{name}: {len(labels)} training labels for {len(images)} training images"
        )
    if len(images) <= n_valid:
        raise RaekitError(
            f"{name}: {len(images)} training images; need more than {n_valid} "
            f"to hold out a validation set"
        )
    cut = len(images) - n_valid
    return images[:cut], images[cut:], labels[:cut], labels[cut:]
