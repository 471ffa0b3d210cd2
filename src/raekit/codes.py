"""Latent codes of large datasets: encoded by all ranks at once, in order, in memory or on disk.

Rank r encodes its contiguous block of the images (`distributed.block`), so every image is
encoded exactly once and the codes come back in dataset order whatever N and the world size.
`encode_to_file` writes them into one .npy file batch by batch and never holds them all; the file
appears under its name only once every rank has finished (a crash leaves no half-written codes).
Several nodes must see the same file system for the file route.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from raekit import distributed
from raekit.atomic import commit
from raekit.distributed import Context
from raekit.errors import RaekitError
from raekit.generate import encode_images
from raekit.progress import progress


def encode_distributed(model, images: np.ndarray, ctx: Context | None = None,
                       batch_size: int = 500) -> np.ndarray:
    """float64 (N, d) codes of all images on every rank, each rank having encoded its block."""
    ctx = ctx or Context()
    rows = distributed.block(len(images), ctx)
    mine = encode_images(model, images[rows.start:rows.stop], batch_size,
                         desc=f"encoding codes, rank {ctx.rank}" if ctx.distributed else "encoding codes")
    return distributed.gather_blocks(ctx, torch.from_numpy(mine), len(images)).numpy()


def encode_to_file(model, images: np.ndarray, path: str | Path, ctx: Context | None = None,
                   batch_size: int = 500) -> Path:
    """Write the float64 (N, d) codes of all images to the .npy file `path`; returns `path`."""
    ctx, path = ctx or Context(), Path(path)
    partial = path.with_name(f".{path.name}.partial.tmp")  # hidden, never read as finished codes
    if ctx.is_main:
        path.parent.mkdir(parents=True, exist_ok=True)
        shape = (len(images), int(model.latent_dim))
        np.lib.format.open_memmap(partial, mode="w+", dtype=np.float64, shape=shape).flush()
    distributed.barrier(ctx)
    out = np.load(partial, mmap_mode="r+")
    rows = distributed.block(len(images), ctx)
    starts = progress(range(rows.start, rows.stop, batch_size), unit="batch",
                      desc=f"encoding codes to {path.name} ({rows.stop - rows.start} images)")
    for start in starts:
        stop = min(start + batch_size, rows.stop)
        out[start:stop] = encode_images(model, images[start:stop], batch_size, desc=None)
    out.flush()
    del out
    distributed.barrier(ctx)
    if ctx.is_main:
        commit(partial, path)
    distributed.barrier(ctx)
    return path


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
        raise RaekitError(f"{path} must hold a non-empty (N, d) float array, got {codes.dtype} {codes.shape}")
    return codes

