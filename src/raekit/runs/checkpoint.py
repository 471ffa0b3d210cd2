"""Resumable training checkpoints and the best-weights slot, in safetensors + JSON, never pickle.

A checkpoint is a pair `step-000012.safetensors` (every tensor) + `step-000012.json` (all other
state, and the SHA-256 of the safetensors file). The safetensors file is written atomically first
and the JSON last: the JSON is the commit marker, so a checkpoint counts only if its JSON parses
and the hash matches. Loading takes the newest valid one and warns about any newer broken one.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.torch
import torch
from torch import nn

from raekit.atomic import atomic_write_bytes, atomic_write_text
from raekit.errors import RaekitError
from raekit.runs.state_codec import InvalidState, decode, encode

__all__ = [
    "save_checkpoint",
    "load_checkpoint",
    "latest_checkpoint",
    "list_checkpoints",
    "save_weights",
    "load_weights",
]

FORMAT = 1
_NAME = re.compile(r"step-(\d+)\.json")


def _write_pair(
    tensor_path: Path, json_path: Path, tensors: dict, record: dict, header: dict
) -> None:
    """Safetensors atomically first, then the JSON carrying its hash (the commit marker)."""
    data = safetensors.torch.save(tensors, metadata=header)
    atomic_write_bytes(tensor_path, data)
    record = {"format": FORMAT, "sha256": hashlib.sha256(data).hexdigest(), **record}
    atomic_write_text(json_path, json.dumps(record, allow_nan=False, indent=1))


def _read_tensors(path: Path) -> tuple[bytes, dict[str, torch.Tensor]]:
    """Bytes and tensors of a safetensors file; anything else (a pickle, a zip, garbage) is refused."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidState(f"cannot read {path}: {exc.strerror}") from None
    if (
        data[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
        or data[:4] == b"PK\x03\x04"
    ):
        raise InvalidState(
            f"{path} is a pickle / torch.save file, which raekit never loads (it can run code)"
        )
    try:
        return data, safetensors.torch.load(data)
    except Exception as exc:  # safetensors raises its own error type for every malformed file
        raise InvalidState(f"{path} is not a complete safetensors file ({exc})") from None


def _read_pair(json_path: Path, tensor_path: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """The JSON record and tensors of a committed pair, after checking the hash."""
    try:
        record = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidState(f"{json_path} is not readable JSON ({exc})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise InvalidState(f"{json_path} is not a raekit format-{FORMAT} record")
    data, tensors = _read_tensors(tensor_path)
    if hashlib.sha256(data).hexdigest() != record.get("sha256"):
        raise InvalidState(f"{tensor_path} does not match the SHA-256 in {json_path.name}")
    return record, tensors


def list_checkpoints(directory: str | Path) -> list[Path]:
    """Committed checkpoints (their JSON files), oldest first; validity is checked when loading."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.fullmatch(p.name))]
    return [p for _, p in sorted(found)]


def _valid(json_path: Path) -> dict:
    """The decoded state of a committed checkpoint, or InvalidState saying what is wrong with it."""
    record, tensors = _read_pair(json_path, json_path.with_suffix(".safetensors"))
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
    return int(json_path.name[len("step-") : -len(".json")])


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
) -> Path:
    """Write checkpoint `step` (its JSON path is returned), then keep only the newest `keep` valid ones.

    Saves model, optimizer and scheduler state, the torch / numpy / python RNG states and `extra`
    (JSON values, tensors, arrays and numpy Generators are all restored as they were).
    """
    if not isinstance(step, int) or step < 0:
        raise RaekitError(f"checkpoint step must be a non-negative integer, got {step!r}")
    if not isinstance(keep, int) or keep < 1:
        raise RaekitError(f"keep must be at least 1 (how many checkpoints to keep), got {keep!r}")
    stem = Path(directory) / f"step-{step:06d}"
    _refuse_non_finite(model, stem.with_suffix(".safetensors"))
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
    _write_pair(stem.with_suffix(".safetensors"), stem.with_suffix(".json"), tensors, record, {})
    _prune(Path(directory), step, keep)
    return stem.with_suffix(".json")


def _prune(directory: Path, newest: int, keep: int) -> None:
    """Delete all but the new checkpoint and the `keep - 1` newest valid older ones.

    Runs only after the new checkpoint is committed. Higher-numbered leftovers belong to an
    abandoned run (the new checkpoint is the run's latest state) and would shadow it, so they go too.
    """
    older = (p for p in reversed(list_checkpoints(directory)) if _step(p) < newest and _is_valid(p))
    kept = {newest} | {_step(p) for p in itertools.islice(older, keep - 1)}
    for path in directory.iterdir():
        match = re.fullmatch(r"step-(\d+)\.(json|safetensors)", path.name)
        stale_tmp = path.name.startswith(".step-") and path.name.endswith(".tmp")
        if stale_tmp or (match and int(match.group(1)) not in kept):
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
    _check_model(model, state["model"], path)
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


def _check_model(model: nn.Module, saved: dict, path: Path) -> None:
    """Refuse a checkpoint of another architecture before anything is changed."""
    own = model.state_dict()
    problems = [f"missing {k}" for k in own if k not in saved]
    problems += [f"unexpected {k}" for k in saved if k not in own]
    problems += [
        f"{k} has shape {tuple(saved[k].shape)}, model {tuple(v.shape)}"
        for k, v in own.items()
        if k in saved and tuple(saved[k].shape) != tuple(v.shape)
    ]
    if problems:
        more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise RaekitError(f"{path.name} is for a different model: {'; '.join(problems[:5])}{more}")


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


def save_weights(path: str | Path, module: nn.Module, meta: dict) -> None:
    """Write `module`'s weights to `path` (safetensors) and `meta` + hash to its .json sibling.

    The metadata also goes into the safetensors header, so the weights file alone is complete
    even if a kill lands between the two renames.
    """
    path, tensors = Path(path), {}
    _refuse_non_finite(module, path)
    record = {"model": encode(module.state_dict(), "model", tensors)}
    meta_json = json.dumps(encode(dict(meta), "meta", tensors), allow_nan=False)
    record["meta"] = json.loads(meta_json)
    _write_pair(
        path,
        path.with_suffix(".json"),
        tensors,
        record,
        {"raekit_format": str(FORMAT), "raekit_meta": meta_json},
    )


def _refuse_non_finite(module: nn.Module, path: Path) -> None:
    """NaN or infinite weights are never written: they would replace good ones with useless ones."""
    bad = [
        name
        for name, value in module.state_dict().items()
        if value.is_floating_point() and not bool(torch.isfinite(value).all())
    ]
    if bad:
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise RaekitError(
            f"non-finite values in {', '.join(bad[:3])}{more}; {path} was not written "
            f"(what was there is kept)"
        )


def load_weights(path: str | Path, module: nn.Module) -> dict:
    """Load weights saved by `save_weights` into `module` (strictly) and return their metadata."""
    path = Path(path)
    if not path.is_file():
        raise RaekitError(f"no weights file {path}")
    try:
        record, tensors = _read_pair(path.with_suffix(".json"), path)
        weights, meta = decode(record["model"], tensors), decode(record["meta"], tensors)
    except (InvalidState, KeyError) as exc:
        meta, weights = _weights_alone(path, exc)
    _check_model(module, weights, path)
    module.load_state_dict(weights)
    return meta


def _weights_alone(path: Path, problem: Exception) -> tuple[dict, dict[str, torch.Tensor]]:
    """Fallback when the JSON is stale or missing: the atomically written weights file stands alone."""
    try:
        data, tensors = _read_tensors(path)
        header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])  # safetensors layout
        meta = decode(json.loads(header["__metadata__"]["raekit_meta"]), tensors)
    except InvalidState as exc:
        raise RaekitError(f"cannot load weights: {exc}") from None
    except (KeyError, TypeError, ValueError):
        raise RaekitError(f"cannot load weights {path}: {problem}") from None
    warnings.warn(
        f"{path.with_suffix('.json').name} does not match {path.name} ({problem}); "
        f"using the weights file's own metadata",
        stacklevel=3,
    )
    return meta, {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
