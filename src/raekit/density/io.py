"""Densities on disk: arrays in <stem>.safetensors, kind/options/meta in <stem>.json. No pickle."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from raekit.atomic import atomic_path, atomic_write_text
from raekit.errors import RaekitError


def save_density(density, stem: str | Path, meta: dict | None = None) -> Path:
    if not hasattr(density, "state"):
        raise RaekitError(f"a {type(density).__name__} cannot be saved (no state()); keep it in memory")
    stem = Path(stem)
    arrays = {k: np.ascontiguousarray(v) for k, v in density.state().items()}
    with atomic_path(stem.with_suffix(".safetensors")) as tmp:
        save_file(arrays or {"_empty": np.zeros(0)}, tmp)
    record = {"format": 1, "kind": density.kind, "options": density.options, "d": int(density.n_features_in_),
              "meta": meta or {}}
    atomic_write_text(stem.with_suffix(".json"), json.dumps(record, indent=2))  # written last: commit marker
    return stem


def load_density(stem: str | Path, expect_meta: dict | None = None):
    from raekit.density import make_density
    stem = Path(stem)
    try:
        record = json.loads(stem.with_suffix(".json").read_text())
        arrays = load_file(stem.with_suffix(".safetensors"))
    except FileNotFoundError as exc:
        raise RaekitError(f"no saved density at {stem} ({Path(exc.filename).name} missing)") from None
    except (json.JSONDecodeError, OSError, Exception) as exc:  # safetensors raises its own error type
        raise RaekitError(f"the density at {stem} is corrupt ({exc.__class__.__name__})") from None
    for key, expected in (expect_meta or {}).items():
        if record.get("meta", {}).get(key) != expected:
            raise RaekitError(f"the density at {stem} was fitted for another model ({key} differs); "
                              f"fit it again with `raekit fit-density`")
    density = make_density(record["kind"], **record["options"])
    density.load_state(arrays, int(record["d"]))
    return density
