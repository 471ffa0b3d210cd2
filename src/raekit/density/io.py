"""Densities on disk: arrays in <stem>.safetensors, kind/options/meta in <stem>.json. No pickle."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from raekit.atomic import atomic_path, atomic_write_text
from raekit.errors import RaekitError


def _with(stem: Path, suffix: str) -> Path:
    """stem + suffix, keeping any dots already in the stem's name."""
    return stem.with_name(stem.name + suffix)


def save_density(density, stem: str | Path, meta: dict | None = None) -> Path:
    """Write <stem>.safetensors (arrays) then <stem>.json (kind, options, d, meta), each atomically."""
    if not hasattr(density, "state"):
        inner = type(getattr(density, "estimator", density)).__name__
        raise RaekitError(f"a wrapped {inner} cannot be saved (raekit stores arrays, never pickles); "
                          "keep it in memory or use a built-in kind such as 'gmm'")
    stem = Path(stem)
    arrays = {k: np.ascontiguousarray(v) for k, v in density.state().items()}
    with atomic_path(_with(stem, ".safetensors")) as tmp:
        save_file(arrays or {"_empty": np.zeros(0)}, tmp)
    record = {"format": 1, "kind": density.kind, "options": density.options, "d": int(density.n_features_in_),
              "meta": meta or {}}
    atomic_write_text(_with(stem, ".json"), json.dumps(record, indent=2))  # written last: commit marker
    return stem


def load_density(stem: str | Path, expect_meta: dict | None = None):
    """The density saved at `stem`; every key of `expect_meta` must equal the saved meta's."""
    from raekit.density import make_density
    stem = Path(stem)
    try:
        record = json.loads(_with(stem, ".json").read_text())
        arrays = load_file(_with(stem, ".safetensors"))
    except FileNotFoundError as exc:
        raise RaekitError(f"no saved density at {stem} ({Path(exc.filename).name} missing)") from None
    except (json.JSONDecodeError, OSError, Exception) as exc:  # safetensors raises its own error type
        raise RaekitError(f"the density at {stem} is corrupt ({exc.__class__.__name__})") from None
    for key, expected in (expect_meta or {}).items():
        found = record.get("meta", {}).get(key)
        if found != expected:
            raise RaekitError(f"the density at {stem} was fitted for another model ({key} is {found!r}, "
                              f"expected {expected!r}); fit it again with `raekit fit-density`")
    density = make_density(record["kind"], **record["options"])
    density.load_state(arrays, int(record["d"]))
    return density
