"""What a run trains on: a config's images or encoded sequences, split and checked."""

from __future__ import annotations

import numpy as np
import torch

from raekit.config import RunConfig
from raekit.errors import RaekitError
from raekit.runs import load_data


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
