"""What a run trains on: a config's images or encoded sequences, split and checked."""

from __future__ import annotations

import numpy as np
import torch

from raekit.config import RunConfig
from raekit.data import config_images
from raekit.errors import RaekitError


def training_arrays(config: RunConfig, data) -> tuple[torch.Tensor, torch.Tensor]:
    if data is None:
        data = load_data(config)
    train_x, valid_x = data.train[: config.train_limit], data.valid[: config.valid_limit]
    if len(train_x) == 0 or len(valid_x) == 0:
        raise RaekitError(f"dataset {config.dataset!r} has an empty training or validation split")
    if config.image_shape and tuple(train_x.shape[1:]) != config.image_shape:
        raise RaekitError(
            f"images have shape {tuple(train_x.shape[1:])}, the model expects {config.image_shape}"
        )
    return torch.from_numpy(np.ascontiguousarray(train_x)), torch.from_numpy(
        np.ascontiguousarray(valid_x)
    )


def load_data(config: RunConfig):
    """The splits a config trains on: images, or a sequence task's encoded strings."""
    if config.image_shape is None:
        from raekit.grammar.task import load_sequences

        return load_sequences(config)
    return config_images(config)
