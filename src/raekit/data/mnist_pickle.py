"""The classic `mnist.pkl.gz`: ((train_x, train_y), (valid_x, valid_y), (test_x, test_y)).

Images are N x 784 floats k/256 (k = 0..255), split 50k/10k/10k. The file is a Python 2 pickle;
it is read by an unpickler that can build numpy arrays and nothing else, so a crafted file
cannot run code.
"""

from __future__ import annotations

import gzip
import io
import pickle
import zlib
from pathlib import Path

import numpy as np

from raekit.errors import RaekitError

PICKLE_FILE = "mnist.pkl.gz"


class ArraysOnly(pickle.Unpickler):
    """An unpickler whose find_class admits only what numpy arrays are rebuilt from."""

    ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            # Python 3 pickles of protocol 2 store an array's raw bytes as _codecs.encode(str, 'latin1');
            # it only turns a string into bytes.
            ("_codecs", "encode"),
        }
    )

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise RaekitError(
                f"refusing to unpickle {module}.{name}: {PICKLE_FILE} may hold numpy arrays only"
            )
        return super().find_class(module, name)


def read_mnist_pickle(path: str | Path) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Three (images (N, 28, 28) uint8, labels (N,)) pairs: train, valid, test."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes())
        splits = ArraysOnly(io.BytesIO(raw), encoding="latin1").load()
    except RaekitError:
        raise
    except (
        OSError,
        EOFError,
        zlib.error,
        pickle.UnpicklingError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
    ) as exc:
        raise RaekitError(
            f"{path} is corrupt or truncated ({exc.__class__.__name__}: {exc})"
        ) from None
    try:
        pairs = [(x, y) for x, y in splits]
    except (TypeError, ValueError):
        pairs = []
    if len(pairs) != 3:
        raise RaekitError(f"{path} does not hold the (train, valid, test) pairs of {PICKLE_FILE}")
    return tuple(
        (_pixels(path, split, x), np.asarray(y))
        for split, (x, y) in zip(("train", "valid", "test"), pairs)
    )


def _pixels(path: Path, split: str, x) -> np.ndarray:
    """k/256 floats -> uint8 k, as round(x * 256) clipped to 255."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != 784 or not np.issubdtype(x.dtype, np.floating):
        raise RaekitError(
            f"{path} {split}: expected N x 784 float pixels, got {x.dtype} of shape {x.shape}"
        )
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise RaekitError(f"{path} {split}: pixel values must be finite and in [0, 1]")
    # x * 256 is exact in binary floating point, so no wider dtype is needed.
    return np.minimum(np.rint(x * 256), 255).astype(np.uint8).reshape(-1, 28, 28)
