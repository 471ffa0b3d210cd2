"""Densities on disk: arrays in <stem>.safetensors, kind/options/meta in <stem>.json. No pickle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from raekit.density.base import Density
from raekit.errors import RaekitError
from raekit.io.atomic import atomic_path
from raekit.io.jsonio import write_json


def _with(stem: Path, suffix: str) -> Path:
    """stem + suffix, keeping any dots already in the stem's name."""
    return stem.with_name(stem.name + suffix)


def save_density(density, stem: str | Path, meta: dict | None = None) -> Path:
    """Write <stem>.safetensors (arrays) then <stem>.json (kind, options, d, meta), each atomically."""
    if not isinstance(density, Density):
        raise RaekitError(f"save_density takes a raekit density, got {type(density).__name__}")
    stem = Path(stem)
    arrays = {k: np.ascontiguousarray(v) for k, v in density.state().items()}
    with atomic_path(_with(stem, ".safetensors")) as tmp:
        save_file(arrays or {"_empty": np.zeros(0)}, tmp)
    record = {
        "format": 1,
        "kind": density.kind,
        "options": density.options,
        "d": int(density.n_features_in_),
        "meta": meta or {},
    }
    write_json(_with(stem, ".json"), record)  # written last: the commit marker
    return stem


def load_density(stem: str | Path, expect_meta: dict | None = None):
    """The density saved at `stem`; every key of `expect_meta` must equal the saved meta's."""
    stem = Path(stem)
    try:
        record = json.loads(_with(stem, ".json").read_text())
        arrays = load_file(_with(stem, ".safetensors"))
    except FileNotFoundError as exc:
        raise RaekitError(
            f"no saved density at {stem} ({Path(exc.filename).name} missing)"
        ) from None
    except Exception as exc:  # JSON, decoding and safetensors' own error type alike
        raise RaekitError(f"the density at {stem} is corrupt ({exc.__class__.__name__})") from None
    record = _check_record(stem, record)
    for key, expected in (expect_meta or {}).items():
        found = record["meta"].get(key)
        if found != expected:
            raise RaekitError(
                f"the density at {stem} was fitted for another model ({key} is {found!r}, "
                f"expected {expected!r}); fit it again with `raekit fit-density`"
            )
    return _restore(stem, record, arrays)


def _check_record(stem: Path, record) -> dict:
    """The JSON record, with every key load_density needs present and of the right type."""
    wanted = {"kind": str, "options": dict, "d": int, "meta": dict}
    if not isinstance(record, dict):
        raise RaekitError(
            f"the density at {stem} is damaged: {_with(stem, '.json').name} is not a JSON object"
        )
    for key, kind in wanted.items():
        if not isinstance(record.get(key), kind) or isinstance(record.get(key), bool):
            raise RaekitError(
                f"the density at {stem} is damaged: {_with(stem, '.json').name} needs "
                f"{key!r} as {kind.__name__}, found {record.get(key)!r}"[:300]
            )
    if record["d"] < 1:
        raise RaekitError(f"the density at {stem} is damaged: d is {record['d']}")
    return record


def _restore(stem: Path, record: dict, arrays: dict):
    """Rebuild the density, then draw and score two samples: missing, swapped or non-finite arrays
    show up here as a clear error instead of wrong samples later."""
    # the package imports this module
    from raekit.density import make_density

    d = record["d"]
    try:
        density = make_density(record["kind"], **record["options"])
        density.load_state(arrays, d)
        probe = density.sample(2, seed=0)
        ok = probe.shape == (2, d) and np.isfinite(probe).all()
        ok = ok and np.isfinite(density.score_samples(probe)).all()
    except RaekitError as exc:
        raise RaekitError(f"the density at {stem} is damaged ({exc})") from None
    except Exception as exc:  # KeyError, shape and linear-algebra errors of numpy, scipy and torch
        raise RaekitError(
            f"the density at {stem} is damaged ({exc.__class__.__name__}: "
            f"{str(exc)[:120]}); fit it again with `raekit fit-density`"
        ) from None
    if not ok:
        raise RaekitError(
            f"the density at {stem} is damaged (its samples or likelihoods are not finite "
            f"{d}-dimensional values); fit it again with `raekit fit-density`"
        )
    return density


def open_codes(path: str | Path) -> np.ndarray:
    """A read-only memory map of a codes file: rows are read from disk only when used."""
    path = Path(path)
    if not path.is_file():
        raise RaekitError(f"codes file {path} not found")
    try:
        codes = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        raise RaekitError(f"{path} is not a .npy codes file: {error}") from None
    if codes.ndim != 2 or codes.shape[0] == 0 or codes.dtype.kind != "f":
        raise RaekitError(
            f"{path} must hold a non-empty (N, d) float array, got {codes.dtype} {codes.shape}"
        )
    return codes
