"""Small shared test utilities."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from ddp_worker import SRC
from raekit.data import ImageSplits


def tiny_digits(n_train: int = 200, n_valid: int = 60, n_test: int = 60) -> ImageSplits:
    """A slice of the real digits data (fast to train on)."""
    from raekit.data import load_images

    data = load_images("digits")
    return ImageSplits(
        name="digits",
        train=data.train[:n_train],
        valid=data.valid[:n_valid],
        test=data.test[:n_test],
        train_labels=data.train_labels[:n_train],
        valid_labels=data.valid_labels[:n_valid],
        test_labels=data.test_labels[:n_test],
    )


def random_images(n: int, shape=(1, 32, 32), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


def encode_smiles_file(path, grammar, max_rows=None, **encode_options):
    """The SMILES (or expression) file at `path` read and encoded; rows and failures use its lines."""
    import numpy as np

    from raekit.grammar.corpora import read_smiles_file
    from raekit.grammar.encode import Encoded, encode_productions

    text = read_smiles_file(path, max_rows=max_rows)
    encoded = encode_productions(text.values, grammar, lines=text.lines, **encode_options)
    lines = np.asarray(text.lines, dtype=np.int64)
    return Encoded(
        indices=encoded.indices,
        rows=lines[encoded.rows],
        failures=sorted(text.skipped + [(int(lines[r]), why) for r, why in encoded.failures]),
        total=len(text.values) + len(text.skipped),
    )


def cli_env(**extra) -> dict:
    """The environment of a fresh raekit process: this checkout's source, one thread."""
    return {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1", **extra}


def run_cli(args, timeout=180, **env) -> subprocess.CompletedProcess:
    """`raekit ARGS` in a fresh `python -m raekit` process (stdout and stderr captured)."""
    return subprocess.run(
        [sys.executable, "-m", "raekit", *args],
        env=cli_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
