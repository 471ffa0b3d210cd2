"""A model's best weights: safetensors + a JSON sibling with their metadata and hash. The
metadata is also in the safetensors header, so the weights file alone is complete."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import nn

from raekit.errors import RaekitError
from raekit.runs.state_codec import InvalidState, decode, encode
from raekit.runs.tensor_pairs import (
    FORMAT,
    check_model,
    header_metadata,
    read_pair,
    read_tensors,
    refuse_non_finite,
    write_pair,
)

_warned: set[Path] = set()  # weights files already warned about in this process


def save_weights(path: str | Path, module: nn.Module, meta: dict) -> None:
    """Write `module`'s weights to `path` (safetensors) and `meta` + hash to its .json sibling.

    The metadata also goes into the safetensors header, so the weights file alone is complete
    even if a kill lands between the two renames.
    """
    path, tensors = Path(path), {}
    refuse_non_finite(module, path)
    record = {"model": encode(module.state_dict(), "model", tensors)}
    meta_json = json.dumps(encode(dict(meta), "meta", tensors), allow_nan=False)
    record["meta"] = json.loads(meta_json)
    write_pair(
        path,
        path.with_suffix(".json"),
        tensors,
        record,
        {"raekit_format": str(FORMAT), "raekit_meta": meta_json},
    )


def load_weights(path: str | Path, module: nn.Module) -> dict:
    """Load weights saved by `save_weights` into `module` (strictly) and return their metadata."""
    path = Path(path)
    if not path.is_file():
        raise RaekitError(f"no weights file {path}")
    try:
        record, tensors = read_pair(path.with_suffix(".json"), path)
        weights, meta = decode(record["model"], tensors), decode(record["meta"], tensors)
    except (InvalidState, KeyError) as exc:
        meta, weights = _weights_alone(path, exc)
    check_model(module, weights, path)
    module.load_state_dict(weights)
    return meta


def _weights_alone(path: Path, problem: Exception) -> tuple[dict, dict[str, torch.Tensor]]:
    """The weights file without its JSON record: used only when it is the newer half of a save
    killed between its two renames (its tensors pass their own hash, it comes from the same run and
    a later epoch than the record). Anything else is a damaged or swapped-in file and is refused."""
    try:
        data, tensors = read_tensors(path)
        meta = decode(json.loads(header_metadata(data)["raekit_meta"]), tensors)
    except InvalidState as exc:
        raise RaekitError(f"cannot load weights: {exc}") from None
    except (KeyError, TypeError, ValueError):
        raise RaekitError(f"cannot load weights {path}: {problem}") from None
    recorded = _recorded_meta(path.with_suffix(".json"))
    if recorded is not None and not _newer_save_of_same_run(meta, recorded):
        raise RaekitError(
            f"{path} fails the SHA-256 recorded in {path.with_suffix('.json').name} (damaged, or "
            f"replaced by another file); restore both files together, or train again"
        )
    if path not in _warned:  # once per file and process
        _warned.add(path)
        warnings.warn(
            f"{path.with_suffix('.json').name} does not match {path.name} ({problem}); "
            f"using the weights file's own metadata",
            stacklevel=3,
        )
    return meta, {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}


def _recorded_meta(json_path: Path) -> dict | None:
    """The metadata the JSON record holds; None when there is no readable record at all."""
    try:
        record = json.loads(json_path.read_text(encoding="utf-8"))
        return record["meta"] if isinstance(record.get("meta"), dict) else {}
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, AttributeError, KeyError):
        return None


def _newer_save_of_same_run(meta: dict, recorded: dict) -> bool:
    epoch, before = meta.get("epoch"), recorded.get("epoch")
    return (
        isinstance(epoch, int)
        and isinstance(before, int)
        and epoch > before
        and meta.get("run") == recorded.get("run")
    )
