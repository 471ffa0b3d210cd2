"""IDX files (MNIST, Fashion-MNIST), raw or gzip-compressed.

Layout: magic number (two zero bytes, a type code, the number of dimensions), one big-endian
uint32 per dimension, then the values in C order, big-endian.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from raekit.errors import RaekitError

# IDX type codes (third byte of the magic number) -> big-endian numpy dtype.
_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file; its header and its size are checked against each other."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise RaekitError(
            f"{path} is not an IDX file (bad magic number {raw[:4].hex() or 'empty'})"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise RaekitError(
            f"{path} is corrupt or truncated: an IDX header of {ndim} dimensions "
            f"needs {header} bytes, the file has {len(raw)}"
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = (
        header + math.prod(shape) * dtype.itemsize
    )  # Python ints: a hostile header cannot overflow
    if len(raw) != expected:
        raise RaekitError(
            f"{path} is corrupt or truncated: its header says shape {shape} "
            f"({expected} bytes), the file has {len(raw)} bytes"
        )
    return (
        np.frombuffer(raw, dtype=dtype, offset=header)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic (whatever its name)."""
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if raw[:2] == _GZIP_MAGIC else raw
    except (OSError, EOFError, zlib.error) as exc:
        raise RaekitError(f"{path} is corrupt or truncated ({exc})") from None


def idx_names(stem: str) -> tuple[str, ...]:
    """The names an IDX file goes by: raw or .gz, with '-idx' or the common '.idx' spelling."""
    dotted = stem.replace("-idx", ".idx")
    return stem, stem + ".gz", dotted, dotted + ".gz"
