"""Training on your own images: the config a run on them gets, their split, and what the run
records about them (config.yaml's data keys, RUN/data.json, RUN/data.npy for in-memory images)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from raekit.config import RunConfig, make_config
from raekit.data.image_arrays import from_python, resize_array
from raekit.data.own import (
    OWN_DATASET,
    OwnImages,
    nearest_resolution,
    read_own_images,
    split_own,
)
from raekit.data.splits import ImageSplits
from raekit.errors import RaekitError
from raekit.io.atomic import atomic_write_bytes
from raekit.io.jsonio import write_json

DATA_RECORD = "data.json"  # what the run was trained on: source, fingerprint, split sizes
MEMORY_COPY = "data.npy"  # images given in memory, kept with the run so it can be evaluated
_OWN_KEYS = ("data", "data_sha256", "resolution", "channels", "data_seed")
_NAMING_KEYS = ("dataset", "model", "preset")


@dataclass(frozen=True)
class OwnTraining:
    config: RunConfig
    splits: ImageSplits
    memory_copy: bytes | None  # the .npy bytes of in-memory images, written into the run


def is_own_data(data) -> bool:
    """Whether `data` is something `read_images` / own-data training takes (not ImageSplits)."""
    # slow to import; only this path needs it
    import torch

    kinds = (str, Path, OwnImages, np.ndarray, torch.Tensor, torch.utils.data.Dataset)
    return isinstance(data, kinds)


def own_training(config: RunConfig, data, run_dir: Path) -> OwnTraining:
    """The config and splits for training on `data` (a path, OwnImages, ndarray, tensor or torch
    Dataset): `config`'s model and preset on the images, with every value `config` set
    differently from its own preset's defaults carried over."""
    if config.image_shape is None:
        raise RaekitError(
            f"model {config.model!r} is a sequence model; own images need an image model"
        )
    resolution = config.resolution if config.dataset == OWN_DATASET else None
    memory_copy = None
    if isinstance(data, OwnImages):
        own = data
    elif isinstance(data, (str, Path)):
        own = read_own_images(data, resolution)
    else:
        images = from_python(data)
        images = resize_array(images, resolution or nearest_resolution(min(images.shape[2:])))
        memory_copy = _npy_bytes(images)
        own = OwnImages(
            str((Path(run_dir) / MEMORY_COPY).resolve()),
            "memory",
            images,
            _sha256(memory_copy),
        )
    own_config = make_config(
        OWN_DATASET,
        config.model,
        config.preset,
        data=own.source,
        data_sha256=own.sha256,
        resolution=own.resolution,
        channels=own.channels,
        data_seed=config.data_seed,
        **_changed_values(config),
    )
    return OwnTraining(
        own_config, split_own(OWN_DATASET, own.images, config.data_seed), memory_copy
    )


def _changed_values(config: RunConfig) -> dict:
    """The values of `config` that differ from its dataset, model and preset's defaults."""
    own = {k: getattr(config, k) for k in _OWN_KEYS} if config.dataset == OWN_DATASET else {}
    defaults = make_config(config.dataset, config.model, config.preset, **own)
    return {
        key: value
        for key, value in dataclasses.asdict(config).items()
        if key not in (*_NAMING_KEYS, *_OWN_KEYS) and value != getattr(defaults, key)
    }


def record_own_data(run_dir: Path, training: OwnTraining) -> None:
    """RUN/data.json (and RUN/data.npy for in-memory images), before config.yaml names them."""
    config, splits = training.config, training.splits
    if training.memory_copy is not None:
        atomic_write_bytes(Path(run_dir) / MEMORY_COPY, training.memory_copy)
    write_json(
        Path(run_dir) / DATA_RECORD,
        {
            "source": config.data,
            "sha256": config.data_sha256,
            "images": len(splits.train) + len(splits.valid) + len(splits.test),
            "image_shape": list(config.image_shape),
            "split_seed": config.data_seed,
            "split": {
                "train": len(splits.train),
                "valid": len(splits.valid),
                "test": len(splits.test),
            },
        },
    )


def _npy_bytes(images: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, images, allow_pickle=False)
    return buffer.getvalue()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
