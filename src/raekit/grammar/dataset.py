"""Parsed grammar datasets, cached on disk by file content and grammar.

The cache holds integer production indices (int16 npz, never one-hot, never pickled); the
one-hot tensors are built per batch with `to_one_hot`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from raekit.atomic import atomic_path
from raekit.cache import cache_dir
from raekit.errors import RaekitError
from raekit.grammar.cfg import Grammar
from raekit.grammar.data import read_smiles_file
from raekit.grammar.encode import Encoded, encode_productions
from raekit.transfer import digest


def _file_hash(path: Path) -> str:

    return digest(Path(path))


def cache_key(path, grammar: Grammar, max_rows: int | None) -> str:
    """Hash of the file's bytes, the grammar text, its max_length and the row limit."""
    spec = json.dumps([_file_hash(Path(path)), grammar.text, grammar.max_length, max_rows])
    return hashlib.sha256(spec.encode()).hexdigest()[:24]


def load_encoded(
    path, grammar: Grammar, *, max_rows: int | None = None, cache: bool = True, **encode_options
) -> Encoded:
    """Encode the SMILES (or expression) file at `path`; rows and failures use file lines.

    `Encoded.rows` holds the 1-based line numbers kept; failures are (line, reason).
    """
    target = cache_dir() / "grammar" / f"{cache_key(path, grammar, max_rows)}.npz"
    if cache and target.is_file():
        return _read(target)
    text = read_smiles_file(path, max_rows=max_rows)
    encoded = encode_productions(text.values, grammar, lines=text.lines, **encode_options)
    lines = np.asarray(text.lines, dtype=np.int64)
    result = Encoded(
        indices=encoded.indices,
        rows=lines[encoded.rows],
        failures=sorted(text.skipped + [(int(lines[r]), why) for r, why in encoded.failures]),
        total=len(text.values) + len(text.skipped),
    )
    if cache:
        _write(target, result)
    return result


def _write(target: Path, encoded: Encoded) -> None:
    with atomic_path(target) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(
            handle,
            indices=encoded.indices.astype(np.int16),
            rows=encoded.rows,
            failure_rows=np.array([r for r, _ in encoded.failures], dtype=np.int64),
            failure_reasons=np.array([w for _, w in encoded.failures], dtype=np.str_),
            total=np.array(encoded.total),
        )


def _read(target: Path) -> Encoded:
    try:
        with np.load(target, allow_pickle=False) as data:
            return Encoded(
                indices=data["indices"],
                rows=data["rows"],
                failures=list(zip(data["failure_rows"].tolist(), data["failure_reasons"].tolist())),
                total=int(data["total"]),
            )
    except (OSError, KeyError, ValueError) as err:
        raise RaekitError(f"damaged dataset cache {target} ({err}); delete it") from None
