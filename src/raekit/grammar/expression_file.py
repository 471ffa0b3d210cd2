"""GrammarVAE's expression data set (`equation2_15_dataset.txt`, 100k expressions).

One expression per line with tokens separated by spaces (`x + x + ( x ) + sin( x + 1 )`).
raekit never ships the file: `raekit fetch expressions` downloads it (or copies a local file)
into the cache, SHA-256 checked; without it, training falls back to a synthetic corpus.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from raekit import notices
from raekit.errors import RaekitError
from raekit.grammar.corpora import expression_corpus
from raekit.io.cache import cache_dir
from raekit.io.transfer import copy_verified, download

EXPRESSIONS_NAME = "equation2_15_dataset.txt"
EXPRESSIONS_URL = (
    "https://raw.githubusercontent.com/mkusner/grammarVAE/master/data/" + EXPRESSIONS_NAME
)
EXPRESSIONS_SHA256 = "ae9850311e884f888491f56dca57ef3c2f9880899e63d26b5da3b71840591ca2"


def cached_expressions() -> Path:
    return cache_dir() / "expressions" / EXPRESSIONS_NAME


def fetch_expressions(dest: str | Path | None = None, source: str | Path | None = None) -> Path:
    """The expression file in `dest` (default: the cache): copied from `source` when given,
    else downloaded from GrammarVAE's repository; either way SHA-256 checked."""

    dest = Path(dest) / EXPRESSIONS_NAME if dest is not None else cached_expressions()
    if source is not None:
        source = Path(source)
        if not source.is_file():
            raise RaekitError(f"expression file not found: {source}")
        return copy_verified(source, dest, EXPRESSIONS_SHA256)
    if dest.is_file():
        return dest
    return download(EXPRESSIONS_URL, dest, EXPRESSIONS_SHA256)


def expressions_path(data_root: str | Path | None) -> Path | None:
    """The expression file to read: `data_root` (the file, or a folder holding it), else the
    cached copy; None when there is none and no `data_root` was given."""
    if data_root is None:
        cached = cached_expressions()
        return cached if cached.is_file() else None
    root = Path(data_root)
    path = root / EXPRESSIONS_NAME if root.is_dir() else root
    if not path.is_file():
        raise RaekitError(
            f"expression file not found: {path} (get it with `raekit fetch expressions`)"
        )
    return path


def read_expressions(path: str | Path, max_rows: int | None = None, seed: int = 0) -> list[str]:
    """Expressions of a file in GrammarVAE's format, spaces removed, empty lines skipped.

    With `max_rows`, a seeded random subset of that size in file order (the file is sorted by
    construction, so its first lines would all share a prefix)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RaekitError(f"cannot read expressions from {path}: {exc}") from None
    expressions = ["".join(line.split()) for line in lines]
    expressions = [e for e in expressions if e]
    if not expressions:
        raise RaekitError(f"no expressions in {path}")
    if max_rows is not None and max_rows < len(expressions):
        keep = np.sort(
            np.random.default_rng(seed).choice(len(expressions), max_rows, replace=False)
        )
        expressions = [expressions[i] for i in keep]
    return expressions


def expression_strings(data_root: str | Path | None, max_rows: int | None, seed: int) -> list[str]:
    """GrammarVAE's expressions when available, else raekit's synthetic corpus (and says so)."""
    path = expressions_path(data_root)
    if path is not None:
        notices.note(f"expressions from {path}")
        return read_expressions(path, max_rows, seed)
    notices.note(
        "GrammarVAE's expression data is not in the cache (`raekit fetch expressions`); "
        "using raekit's synthetic expression corpus instead"
    )
    return expression_corpus(n=max_rows or 100_000, seed=seed)
