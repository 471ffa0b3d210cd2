"""Figures without torchvision: image grids with Pillow, training curves with matplotlib (Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from raekit.errors import RaekitError
from raekit.io.atomic import atomic_path


def pyplot():
    """matplotlib.pyplot on the Agg backend: raekit draws to files, never to a screen."""
    # slow to import; only this path needs it
    import matplotlib

    matplotlib.use("Agg")
    # slow to import; only this path needs it
    import matplotlib.pyplot as plt

    return plt


def image_grid(images, nrow: int, pad: int = 2, fill: int = 255) -> np.ndarray:
    """(N, C, H, W) floats in [0, 1] (or uint8), C = 1 or 3 -> uint8 RGB grid
    (rows*(H+pad)+pad, nrow*(W+pad)+pad, 3), row-major; grey images stay grey (C repeated)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or len(images) == 0:
        raise RaekitError(
            f"images must be a non-empty (N, C, H, W) array with C = 1 or 3, got {images.shape}"
        )
    if int(nrow) < 1 or int(pad) < 0:
        raise RaekitError(f"nrow must be at least 1 and pad at least 0, got nrow={nrow}, pad={pad}")
    if images.dtype != np.uint8:
        images = (np.clip(np.nan_to_num(images.astype(np.float64)), 0, 1) * 255 + 0.5).astype(
            np.uint8
        )
    if images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    n, _, h, w = images.shape
    nrow, rows = int(nrow), -(-n // int(nrow))
    grid = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, 3), fill, dtype=np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        grid[top : top + h, left : left + w] = image.transpose(1, 2, 0)
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
    return save_grid(
        np.concatenate([np.asarray(originals, np.float32), np.asarray(recons, np.float32)]), path, n
    )


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


def _series(curves) -> dict[str, list[tuple[float, float]]]:
    """metrics.csv rows (x = epoch, else step, else row number; every other column a curve) or a
    dict name -> y values or (x, y) pairs, as name -> points."""
    if isinstance(curves, dict):
        return {
            name: [tuple(p) if np.ndim(p) else (i + 1, p) for i, p in enumerate(values)]
            for name, values in curves.items()
        }
    rows = list(curves)
    x_key = next((key for key in ("epoch", "step") if rows and all(key in r for r in rows)), None)
    names = [key for key in dict.fromkeys(k for r in rows for k in r) if key != x_key]
    losses = [name for name in names if name.endswith("loss")]
    names = (
        losses or names
    )  # metrics.csv also logs lr and seconds: plot only the losses when present
    return {
        name: [(r[x_key] if x_key else i + 1, r[name]) for i, r in enumerate(rows) if name in r]
        for name in names
    }


def curves_figure(
    curves, path, xlabel: str | None = None, ylabel: str = "value", log_y: bool = False
) -> Path:
    """Training curves (e.g. train and validation loss per epoch) as a PNG, with matplotlib's Agg."""
    plt = pyplot()
    series = {name: points for name, points in _series(curves).items() if points}
    if not series:
        raise RaekitError("no curves to plot (empty metrics)")
    rows = curves if not isinstance(curves, dict) else []
    xlabel = xlabel or next(
        (k for k in ("epoch", "step") if rows and all(k in r for r in rows)), "step"
    )
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for name, points in series.items():
        ax.plot(*zip(*points), label=name.replace("_", " "), marker="o", markersize=2)
    ax.set(xlabel=xlabel, ylabel=ylabel, yscale="log" if log_y else "linear")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    finally:
        plt.close(fig)
    return path
