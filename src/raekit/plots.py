"""Figures without torchvision: image grids with Pillow, training curves with matplotlib (Agg)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from raekit.atomic import atomic_path


def image_grid(images, nrow: int, pad: int = 2, fill: int = 255) -> np.ndarray:
    """(N, C, H, W) in [0, 1] (or uint8) -> uint8 (rows*(H+pad)+pad, nrow*(W+pad)+pad, 3)."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        images = (np.clip(images, 0, 1) * 255 + 0.5).astype(np.uint8)
    if images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    n, _, h, w = images.shape
    rows = -(-n // nrow)
    grid = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, 3), fill, dtype=np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        grid[top:top + h, left:left + w] = image.transpose(1, 2, 0)
    return grid


def save_grid(images, path, nrow: int, scale: int = 2) -> Path:
    grid = Image.fromarray(image_grid(images, nrow))
    if scale > 1:
        grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
    path = Path(path)
    with atomic_path(path) as tmp:
        grid.save(tmp, format="PNG")
    return path


def reconstruction_figure(originals, recons, path) -> Path:
    """Ground truth on the top row, reconstructions below (Figure 1's layout)."""
    n = len(originals)
    return save_grid(np.concatenate([np.asarray(originals, np.float32), np.asarray(recons, np.float32)]), path, n)


def samples_figure(samples, path, nrow: int | None = None) -> Path:
    return save_grid(samples, path, nrow or int(np.ceil(np.sqrt(len(samples)))))


def interpolation_figure(strips, path) -> Path:
    """One row per pair, one column per interpolation step."""
    strips = np.asarray(strips)
    return save_grid(strips.reshape(-1, *strips.shape[2:]), path, strips.shape[1])


def neighbours_figure(samples, neighbours, path) -> Path:
    """Each row: a sample, then its k nearest training images (Appendix G)."""
    samples, neighbours = np.asarray(samples, np.float32), np.asarray(neighbours, np.float32)
    rows = np.concatenate([samples[:, None], neighbours], axis=1)
    return save_grid(rows.reshape(-1, *rows.shape[2:]), path, rows.shape[1])


def curves_figure(rows: list[dict], path) -> Path:
    """Training and validation loss per epoch from metrics.csv rows."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(4, 3))
    for key in ("train_loss", "valid_loss"):
        points = [(r["epoch"], r[key]) for r in rows if key in r]
        if points:
            ax.plot(*zip(*points), label=key.replace("_", " "), marker="o", markersize=3)
    ax.set(xlabel="epoch", ylabel="loss")
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path
