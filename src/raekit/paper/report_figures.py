"""The report's figures: each model's (paper Figures 1, 4-6, PRD, training curves) and the
all-models PRD and training-curve plots, written as PNG files beside the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from raekit import plots, runs
from raekit.errors import RaekitError
from raekit.generation import interpolate_images, load_run_density, reconstruct, sample_images
from raekit.generation.neighbours import nearest_neighbours
from raekit.io.atomic import atomic_path
from raekit.paper.captions import PRD_ORDER
from raekit.plots import pyplot
from raekit.runs import Run

FIGURES = (
    "reconstructions",
    "samples-N",
    "samples-GMM",
    "interpolations",
    "neighbours",
    "curves",
    "prd",
)


def model_figures(run: Run, result: dict[str, Any], seed: int = 0) -> dict[str, Path]:
    """Write a run's figures into RUN/figures/ and return their paths (Figures 1, 4-6; PRD; curves)."""
    rows = runs.read_metrics(run.directory)
    if not rows:  # checked before any figure is drawn
        raise RaekitError(
            f"{run.directory / runs.METRICS_FILE} holds no epochs, so there are no training "
            f"curves to plot; train the run again into a new --out"
        )
    model, config, data = run.model, run.config, run.data
    out = run.directory / "figures"
    out.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    images = data.test  # Appendix D: the figures show test images, whatever the FIDs used
    paths = {name: out / f"{name}.png" for name in FIGURES}
    originals = images[rng.choice(len(images), 10, replace=len(images) < 10)]
    plots.reconstruction_figure(
        originals / 255.0,
        reconstruct(model, originals, sampled=config.rec_sampled),
        paths["reconstructions"],
    )
    samples = {}
    for column in ("N", "GMM"):
        kind = result["columns"].get(column)
        if kind:
            samples[column] = sample_images(model, load_run_density(run, kind), 64, seed)
            plots.samples_figure(samples[column], paths[f"samples-{column}"])
    pairs = rng.choice(len(images), (5, 2), replace=len(images) < 10)
    plots.interpolation_figure(
        interpolate_images(model, images[pairs[:, 0]], images[pairs[:, 1]], 10),
        paths["interpolations"],
    )
    if "GMM" in samples:
        train = data.train[: config.train_limit].astype(np.float32) / 255.0
        query = samples["GMM"][:6]
        index, _ = nearest_neighbours(query, train, k=5)
        plots.neighbours_figure(query, train[index], paths["neighbours"])
    plots.curves_figure(rows, paths["curves"])
    prd_figure(result.get("prd", {}), paths["prd"])
    return {name: path for name, path in paths.items() if path.exists()}


def prd_figure(prd: dict[str, Any], path: Path) -> None:
    """PRD curves (precision against recall) of each density's samples."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(3.5, 3.5))
    for kind, curve in prd.items():
        ax.plot(
            curve["recall"],
            curve["precision"],
            label=f"{kind} (F_8 recall {curve['f8']:.2f}, F_1/8 precision {curve['f1_8']:.2f})",
        )
    ax.set(xlim=(0, 1), ylim=(0, 1.05), xlabel="recall", ylabel="precision")
    if prd:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def comparison_prd_figure(results: dict[str, Any], path: Path) -> Path:
    """PRD curves of every model in one figure: one panel per Table 1 column (N, GMM)."""
    columns = [c for c in ("N", "GMM") if any(r["columns"].get(c) for r in results.values())]

    def draw(axes):
        for ax, column in zip(axes, columns):
            for model, r in results.items():
                curve = r.get("prd", {}).get(r["columns"].get(column) or "")
                if curve:
                    ax.plot(
                        curve["recall"],
                        curve["precision"],
                        label=f"{model} ({curve['f8']:.2f} / {curve['f1_8']:.2f})",
                    )
            ax.set(
                xlim=(0, 1),
                ylim=(0, 1.05),
                xlabel="recall",
                ylabel="precision",
                title=f"{column} samples",
            )
            ax.legend(fontsize=7, title=f"model ({PRD_ORDER})", title_fontsize=7)

    return _panels(path, len(columns), draw)


def comparison_curves_figure(results: dict[str, Any], path: Path) -> Path:
    """Training curves of every model in one figure: training and validation reconstruction error
    per epoch (the loss term all models share; their total losses have different units)."""
    histories = {model: runs.read_metrics(r["run"]) for model, r in results.items()}

    def draw(axes):
        for ax, split in zip(axes, ("train", "valid")):
            for model, rows in histories.items():
                key = f"{split}_rec" if rows and f"{split}_rec" in rows[0] else f"{split}_loss"
                points = [(row["epoch"], row[key]) for row in rows if key in row]
                if points:
                    ax.plot(*zip(*points), marker="o", markersize=2, label=model)
            ax.set(
                xlabel="epoch",
                ylabel="reconstruction error (sum of squares per image)",
                title=f"{'training' if split == 'train' else 'validation'}",
                yscale="log",
            )
            ax.legend(fontsize=7)

    return _panels(path, 2, draw)


def _panels(path: Path, count: int, draw) -> Path:
    plt = pyplot()
    fig, axes = plt.subplots(1, max(count, 1), figsize=(4.6 * max(count, 1), 3.8), squeeze=False)
    try:
        draw(list(axes[0]))
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    finally:
        plt.close(fig)
    return path
