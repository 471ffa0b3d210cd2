"""A safetensors file and its JSON record, written as a pair: the tensors atomically first, then
the JSON carrying their SHA-256 (the commit marker). Pickles and zips are never read."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import safetensors.torch
import torch
from torch import nn

from raekit.errors import RaekitError
from raekit.io.atomic import atomic_write_bytes, atomic_write_text
from raekit.runs.state_codec import InvalidState

FORMAT = 1
DATA_HASH = "raekit_data_sha256"  # header key: SHA-256 of the tensor bytes after the header


def write_pair(
    tensor_path: Path, json_path: Path, tensors: dict, record: dict, header: dict
) -> None:
    """Safetensors atomically first, then the JSON carrying its hash (the commit marker)."""
    data = canonical_safetensors(tensors, header)
    atomic_write_bytes(tensor_path, data)
    record = {"format": FORMAT, "sha256": hashlib.sha256(data).hexdigest(), **record}
    atomic_write_text(json_path, json.dumps(record, allow_nan=False, indent=1))


def canonical_safetensors(tensors: dict, header: dict) -> bytes:
    """safetensors bytes with the header's metadata in sorted order (safetensors itself writes it
    in a per-process random order) and the SHA-256 of the tensor bytes added, so equal tensors
    give byte-equal files and a file can check its own tensors."""
    data = safetensors.torch.save(tensors, metadata=header or None)
    size = int.from_bytes(data[:8], "little")
    layout, body = json.loads(data[8 : 8 + size]), data[8 + size :]
    metadata = {
        **(layout.pop("__metadata__", None) or {}),
        DATA_HASH: hashlib.sha256(body).hexdigest(),
    }
    text = json.dumps(
        {"__metadata__": dict(sorted(metadata.items())), **layout}, separators=(",", ":")
    )
    encoded = (text + " " * (-len(text) % 8)).encode()  # tensors start 8-byte aligned
    return len(encoded).to_bytes(8, "little") + encoded + body


def header_metadata(data: bytes) -> dict:
    """The __metadata__ of safetensors bytes (already parsed once by safetensors)."""
    size = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + size]).get("__metadata__") or {}


def _check_own_hash(data: bytes, path: Path) -> None:
    """Tensor bytes that fail the SHA-256 in their own header are damaged (bit rot, a bad copy)."""
    recorded = header_metadata(data).get(DATA_HASH)
    size = int.from_bytes(data[:8], "little")
    if recorded is not None and hashlib.sha256(data[8 + size :]).hexdigest() != recorded:
        raise InvalidState(
            f"{path} is damaged: its tensors fail the SHA-256 recorded in its header"
        )


def read_tensors(path: Path) -> tuple[bytes, dict[str, torch.Tensor]]:
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
        tensors = safetensors.torch.load(data)
    except Exception as exc:  # safetensors raises its own error type for every malformed file
        raise InvalidState(f"{path} is not a complete safetensors file ({exc})") from None
    _check_own_hash(data, path)
    return data, tensors


def read_pair(json_path: Path, tensor_path: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """The JSON record and tensors of a committed pair, after checking the hash."""
    try:
        record = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidState(f"{json_path} is not readable JSON ({exc})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise InvalidState(f"{json_path} is not a raekit format-{FORMAT} record")
    data, tensors = read_tensors(tensor_path)
    if hashlib.sha256(data).hexdigest() != record.get("sha256"):
        raise InvalidState(f"{tensor_path} does not match the SHA-256 in {json_path.name}")
    return record, tensors


def check_model(model: nn.Module, saved: dict, path: Path) -> None:
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


def refuse_non_finite(module: nn.Module, path: Path) -> None:
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
