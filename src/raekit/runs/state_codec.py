"""Nested training state (dicts, lists, tuples, numbers, tensors, arrays, numpy generators) as a
JSON record plus a flat dict of tensors for safetensors: everything a checkpoint holds, no pickle."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from raekit.errors import RaekitError


class InvalidState(Exception):
    """A saved file that is missing, damaged or not ours; the message says why."""


_TAGS = ("__tensor__", "__ndarray__", "__tuple__", "__dict__", "__float__", "__np_generator__")
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def encode(obj: Any, name: str, tensors: dict[str, torch.Tensor]) -> Any:
    """JSON-able form of `obj`; tensors and arrays move into `tensors` under a name built from `name`."""
    if isinstance(obj, (torch.Tensor, np.ndarray)):
        tag = "__tensor__" if isinstance(obj, torch.Tensor) else "__ndarray__"
        tensor = (
            obj.detach() if tag == "__tensor__" else torch.from_numpy(np.ascontiguousarray(obj))
        )
        key, n = name, 1
        while key in tensors:  # dict keys containing dots could collide with a nested path
            key, n = f"{name}#{n}", n + 1
        tensors[key] = tensor.to(
            "cpu", copy=True
        ).contiguous()  # a copy: shared storage can't be saved
        return {tag: key}
    if isinstance(obj, (bool, np.bool_)) or obj is None or isinstance(obj, str):
        return bool(obj) if isinstance(obj, np.bool_) else obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else {"__float__": repr(float(obj))}
    if isinstance(obj, (list, tuple)):
        items = [encode(v, f"{name}.{i}", tensors) for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        plain = all(isinstance(k, str) for k in obj) and not (
            len(obj) == 1 and next(iter(obj)) in _TAGS
        )
        if plain:
            return {k: encode(v, f"{name}.{k}", tensors) for k, v in obj.items()}
        return {
            "__dict__": [
                [encode(k, f"{name}.key", {}), encode(v, f"{name}.{k}", tensors)]
                for k, v in obj.items()
            ]
        }
    if isinstance(obj, np.random.Generator):
        return {"__np_generator__": encode(obj.bit_generator.state, name, tensors)}
    raise RaekitError(
        f"cannot save {name}: a {type(obj).__name__} is not a tensor, array or JSON value"
    )


def decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of `encode`."""
    if isinstance(obj, list):
        return [decode(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1 and next(iter(obj)) in _TAGS:
        ((tag, value),) = obj.items()
        if tag in ("__tensor__", "__ndarray__"):
            if value not in tensors:
                raise InvalidState(f"tensor {value!r} is missing from the safetensors file")
            return tensors[value] if tag == "__tensor__" else tensors[value].numpy()
        if tag == "__float__":
            return float(value)
        if tag == "__tuple__":
            return tuple(decode(v, tensors) for v in value)
        if tag == "__dict__":
            return {decode(k, tensors): decode(v, tensors) for k, v in value}
        return _generator(decode(value, tensors))
    return {k: decode(v, tensors) for k, v in obj.items()}


def _generator(state: dict) -> np.random.Generator:
    name = state.get("bit_generator")
    if name not in _BIT_GENERATORS:  # only known classes: never look up an arbitrary name
        raise InvalidState(f"unknown numpy bit generator {name!r}")
    bit_generator = getattr(np.random, name)()
    bit_generator.state = state
    return np.random.Generator(bit_generator)
