"""Resumable training checkpoints, in safetensors + JSON, never pickle (best weights: `weights`).

A checkpoint is a pair `epoch-0003-step-000120.safetensors` (every tensor) +
`epoch-0003-step-000120.json` (all other state, and the SHA-256 of the safetensors file): taken
after 3 whole epochs and 120 steps (batches) of the 4th; `epoch-0003-step-000000` ends epoch 3.
The number that orders them (`step` below) is epoch * EPOCH_STEPS + steps into the next epoch.
The safetensors file is written atomically first
and the JSON last: the JSON is the commit marker, so a checkpoint counts only if its JSON parses
and the hash matches. Loading takes the newest valid one and warns about any newer broken one.
"""

from __future__ import annotations

import itertools
import random
import re
import warnings
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from raekit.errors import RaekitError
from raekit.runs.state_codec import InvalidState, decode, encode
from raekit.runs.tensor_pairs import check_model, read_pair, refuse_non_finite, write_pair

__all__ = [
    "save_checkpoint",
    "load_checkpoint",
    "latest_checkpoint",
    "list_checkpoints",
    "checkpoint_name",
    "checkpoint_number",
]

EPOCH_STEPS = 1_000_000  # checkpoint number = epoch * EPOCH_STEPS + steps into the next epoch
_NAME = re.compile(r"epoch-(\d+)-step-(\d+)\.(json|safetensors)")


def checkpoint_name(step: int) -> str:
    """The file stem of checkpoint number `step`: epoch-EEEE-step-SSSSSS."""
    return f"epoch-{step // EPOCH_STEPS:04d}-step-{step % EPOCH_STEPS:06d}"


def checkpoint_number(name: str) -> int | None:
    """The number of a checkpoint file name (JSON or safetensors), or None for other names."""
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    return int(match.group(1)) * EPOCH_STEPS + int(match.group(2))


def list_checkpoints(directory: str | Path) -> list[Path]:
    """Committed checkpoints (their JSON files), oldest first; validity is checked when loading."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [
        (checkpoint_number(p.name), p)
        for p in directory.iterdir()
        if p.suffix == ".json" and checkpoint_number(p.name) is not None
    ]
    return [p for _, p in sorted(found)]


def _valid(json_path: Path) -> dict:
    """The decoded state of a committed checkpoint, or InvalidState saying what is wrong with it."""
    record, tensors = read_pair(json_path, json_path.with_suffix(".safetensors"))
    missing = {"step", "model", "optimizer", "scheduler", "rng", "extra"} - set(record)
    if missing:
        raise InvalidState(f"{json_path} lacks {', '.join(sorted(missing))}")
    return decode(record, tensors)


def _is_valid(json_path: Path) -> bool:
    try:
        _valid(json_path)
        return True
    except InvalidState:
        return False


def _step(json_path: Path) -> int:
    return checkpoint_number(json_path.name)


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The newest checkpoint whose JSON parses and whose hash matches, or None."""
    return next((p for p in reversed(list_checkpoints(directory)) if _is_valid(p)), None)


def save_checkpoint(
    directory: str | Path,
    step: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any | None,
    extra: dict,
    keep: int = 3,
    pinned: Collection[int] = (),
) -> Path:
    """Write checkpoint `step` (its JSON path is returned), then keep only the newest `keep` valid
    ones and those whose step is `pinned` (kept for later evaluation).

    Saves model, optimizer and scheduler state, the torch / numpy / python RNG states and `extra`
    (JSON values, tensors, arrays and numpy Generators are all restored as they were).
    """
    if not isinstance(step, int) or step < 0:
        raise RaekitError(f"checkpoint step must be a non-negative integer, got {step!r}")
    if not isinstance(keep, int) or keep < 1:
        raise RaekitError(f"keep must be at least 1 (how many checkpoints to keep), got {keep!r}")
    stem = Path(directory) / checkpoint_name(step)
    refuse_non_finite(model, stem.with_suffix(".safetensors"))
    tensors: dict[str, torch.Tensor] = {}
    record = {
        "step": step,
        "model": encode(model.state_dict(), "model", tensors),
        "optimizer": encode(optimizer.state_dict(), "optim", tensors),
        "scheduler": None
        if scheduler is None
        else encode(scheduler.state_dict(), "sched", tensors),
        "rng": encode(_rng_state(), "rng", tensors),
        "extra": encode(dict(extra), "extra", tensors),
    }
    write_pair(stem.with_suffix(".safetensors"), stem.with_suffix(".json"), tensors, record, {})
    _prune(Path(directory), step, keep, pinned)
    return stem.with_suffix(".json")


def _prune(directory: Path, newest: int, keep: int, pinned: Collection[int] = ()) -> None:
    """Delete all but the new checkpoint, the `keep - 1` newest valid older ones and the pinned
    older ones.

    Runs only after the new checkpoint is committed. Higher-numbered leftovers belong to an
    abandoned run (the new checkpoint is the run's latest state) and would shadow it, so they go too.
    """
    older = (p for p in reversed(list_checkpoints(directory)) if _step(p) < newest and _is_valid(p))
    kept = {newest} | {_step(p) for p in itertools.islice(older, keep - 1)}
    kept |= {step for step in pinned if step < newest}
    for path in directory.iterdir():
        number = checkpoint_number(path.name)
        stale_tmp = path.name.startswith(".epoch-") and path.name.endswith(".tmp")
        if stale_tmp or (number is not None and number not in kept):
            path.unlink(missing_ok=True)


def load_checkpoint(
    directory: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
) -> dict:
    """Restore the newest valid checkpoint into the given objects and the RNGs; return extra + "step"."""
    directory = Path(directory)
    paths = list_checkpoints(directory)
    if not paths:
        raise RaekitError(f"no checkpoint in {directory} to resume from")
    reasons = []
    for path in reversed(paths):
        try:
            state = _valid(path)
            break
        except InvalidState as exc:
            reasons.append(str(exc))
            warnings.warn(f"skipping damaged checkpoint: {exc}", stacklevel=2)
    else:
        raise RaekitError(
            f"no valid checkpoint in {directory} to resume from ({len(paths)} damaged; "
            f"newest: {reasons[0]})"
        )
    check_model(model, state["model"], path)
    model.load_state_dict(state["model"])
    if optimizer is not None:
        try:
            optimizer.load_state_dict(state["optimizer"])
        except (ValueError, KeyError) as exc:
            raise RaekitError(
                f"{path.name}: optimizer state does not fit this optimizer ({exc})"
            ) from None
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    _set_rng_state(state["rng"])
    return {**state["extra"], "step": state["step"]}


def _rng_state() -> dict:
    legacy = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": {
            "keys": legacy[1].tolist(),
            "pos": legacy[2],
            "has_gauss": legacy[3],
            "gauss": legacy[4],
        },
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    legacy = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            np.asarray(legacy["keys"], dtype=np.uint32),
            legacy["pos"],
            legacy["has_gauss"],
            legacy["gauss"],
        )
    )
    cuda = state.get("cuda")
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
