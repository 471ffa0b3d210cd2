"""Latent codes of images and images of codes, in batches without autograd.

Codes are encoder means (for VAEs too). `encode_to_file` serves datasets too large for memory:
rank r of a torchrun job encodes its contiguous block (`distributed.block`), so every image is
encoded exactly once and in dataset order, into one .npy file that appears under its name only
once every rank has finished (a crash leaves no half-written codes). Several nodes must see the
same file system for the file route.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from raekit import distributed
from raekit.distributed import Context
from raekit.errors import RaekitError
from raekit.io.atomic import commit
from raekit.io.progress import progress
from raekit.runs import Run


def _device(model) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def encode_images(
    model, images: np.ndarray, batch_size: int = 500, desc: str | None = "encoding codes"
) -> np.ndarray:
    """Codes (encoder means) of uint8 or [0, 1] float images, float64 (N, d); `desc` names the
    progress bar (None: no bar)."""
    model.eval()
    starts = range(0, len(images), batch_size)
    if desc is not None:
        starts = progress(starts, desc=f"{desc} ({len(images)} images)", unit="batch")
    out = [
        model.encode(_to_float(images[i : i + batch_size], _device(model))).double().cpu()
        for i in starts
    ]
    return torch.cat(out).numpy() if out else np.zeros((0, model.latent_dim))


@torch.no_grad()
def decode_codes(model, codes: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Images in [0, 1], float32 (N, C, H, W), decoded from codes."""
    model.eval()
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] != model.latent_dim:
        raise RaekitError(f"codes must have shape (N, {model.latent_dim}), got {codes.shape}")
    dtype = next(model.parameters()).dtype
    out = [
        model.decode(
            torch.as_tensor(codes[i : i + batch_size], dtype=dtype, device=_device(model))
        ).cpu()
        for i in range(0, len(codes), batch_size)
    ]
    return torch.cat(out).float().numpy()


def reconstruct(
    model, images: np.ndarray, batch_size: int = 500, sampled: bool = False, seed: int = 0
) -> np.ndarray:
    """Images decoded from their codes; `sampled`: from z ~ q(z|x) for VAEs and CV-VAEs (as the
    official code's reconstructions are), else from the posterior mean."""
    if not sampled or model.variant.encoder == "deterministic":
        return decode_codes(model, encode_images(model, images, batch_size), batch_size)
    model.eval()
    device = _device(model)
    generator = torch.Generator(device=device).manual_seed(seed)
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            mu, logvar = model.posterior(_to_float(images[i : i + batch_size], device))
            noise = torch.randn(mu.shape, generator=generator, device=device, dtype=mu.dtype)
            out.append(model.decode(mu + noise * model.posterior_std(logvar)).cpu())
    return torch.cat(out).float().numpy()


def _to_float(images: np.ndarray, device: torch.device) -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(images))
    if tensor.dtype == torch.uint8:
        return tensor.to(device).float().div_(255.0)
    if not tensor.is_floating_point():  # sequence indices
        return tensor.to(device)
    return tensor.to(device).float()


def code_images(run: Run) -> tuple[np.ndarray, np.ndarray]:
    """(training, validation) images whose codes densities are fitted and checked on (limits applied)."""
    data, config = run.data, run.config
    return data.train[: config.train_limit], data.valid[: config.valid_limit]


def encode_to_file(
    model, images: np.ndarray, path: str | Path, ctx: Context | None = None, batch_size: int = 500
) -> Path:
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
    starts = progress(
        range(rows.start, rows.stop, batch_size),
        unit="batch",
        desc=f"encoding codes to {path.name} ({rows.stop - rows.start} images)",
    )
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
