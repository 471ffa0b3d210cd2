"""A self-contained HTML report: contents, Tables 1 and 2, the models side by side (paper Fig. 4),
PRD and training curves of all models in one plot each, then each model's figures."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import numpy as np

from raekit import plots, runs
from raekit.errors import RaekitError
from raekit.generation import interpolate_images, load_run_density, reconstruct, sample_images
from raekit.generation.neighbours import nearest_neighbours
from raekit.io.atomic import atomic_path, atomic_write_text
from raekit.paper.captions import PRD_ORDER, plural
from raekit.paper.claims import claims_html
from raekit.paper.htmlpage import Section, embed_png, figure, page
from raekit.paper.orderings import orderings_html
from raekit.paper.tables import annotate, describe_features
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


GRID_COLUMNS = (
    ("REC", "reconstructions"),
    ("N", "samples-N"),
    ("GMM", "samples-GMM"),
    ("Interp.", "interpolations"),
)


def comparison_grid(figures: dict[str, dict[str, Path]]) -> str:
    """Paper Fig. 4: a row per model; reconstructions, N samples, GMM samples, interpolations."""
    head = "<tr><th>model</th>" + "".join(f"<th>{name}</th>" for name, _ in GRID_COLUMNS) + "</tr>"
    rows = []
    for model, paths in figures.items():
        cells = "".join(
            f"<td>{embed_png(paths[key], f'{model} {name}', zoom=True) if key in paths else '–'}</td>"
            for name, key in GRID_COLUMNS
        )
        rows.append(
            f"<tr><th><a href='#model-{html.escape(model)}'>{html.escape(model)}</a></th>{cells}</tr>"
        )
    note = (
        "Each row one model. REC: test images (top) and their reconstructions; N and GMM: 64 decoded "
        "samples of each density; Interp.: slerp interpolations between test pairs (one pair a row). "
        "As in the paper (Appendix D) the figures show test images; the FIDs' images are said under "
        "Table 1. Click a cell to enlarge it (click again elsewhere to close)."
    )
    return (
        f"<table class='grid' id='fig4-grid'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
        f"<p class='note'>{note}</p>"
    )


def _model_detail(
    model: str, result: dict[str, Any], paths: dict[str, Path], out: Path | None = None
) -> str:
    fid = ", ".join(f"{k} {v:.2f}" for k, v in result["fid"].items())
    prd = ", ".join(
        f"{k} {v['f8']:.2f} / {v['f1_8']:.2f}" for k, v in result.get("prd", {}).items()
    )
    facts = (
        f"<p>Run <code>{html.escape(relative(result['run'], out))}</code>. FID: {html.escape(fid)}. "
        f"PRD {PRD_ORDER}: {html.escape(prd)}.</p>"
    )
    return (
        facts
        + "<div>"
        + "".join(
            figure(
                embed_png(
                    p,
                    f"{model} {name}",
                    "plot" if name in ("curves", "prd") else "",
                    zoom=name not in ("curves", "prd"),
                ),
                name,
            )
            for name, p in paths.items()
        )
        + "</div>"
    )


def relative(path, out: Path | None) -> str:
    """`path` as the report names it: relative to the report's folder, never absolute."""
    if out is None or not Path(path).is_absolute():
        return str(path)
    return os.path.relpath(Path(path).resolve(), Path(out).resolve())


def _distinct(items: list) -> list:
    return [item for i, item in enumerate(items) if item not in items[:i]]


def _table_sections(tables, results: dict[str, Any], paper_dataset: str | None) -> list:
    """The tables, annotated with the protocol they were measured under."""
    first = next(iter(results.values()))
    protocols = _distinct([r.get("protocol") or {} for r in results.values()])
    for table in tables:
        key = (
            "table1"
            if table.title.startswith("Table 1")
            else "table2"
            if table.title.startswith("Table 2")
            else "densities"
        )
        annotate(table, key, first, paper=bool(paper_dataset), protocols=protocols)
    sections = [Section(t.key, t.title, t.html(heading=False)) for t in tables]
    if paper_dataset:
        sections[0].body += (
            f"<p class='note'>Paper columns: Ghosh et al. (ICLR 2020), {html.escape(paper_dataset)}, "
            "Inception FID over 10k samples.</p>"
        )
    return sections


def _comparison_sections(shared: Path, results: dict[str, Any], figures) -> list:
    """All models side by side: sample grids, PRD curves, training curves."""
    shared.mkdir(exist_ok=True)
    prd_all = comparison_prd_figure(results, shared / "prd-all-models.png")
    curves_all = comparison_curves_figure(results, shared / "curves-all-models.png")
    return [
        Section("fig4", "Models side by side (paper Fig. 4)", comparison_grid(figures)),
        Section(
            "prd",
            "PRD curves of all models",
            embed_png(prd_all, "PRD curves of all models", "plot")
            + "<p class='note'>Precision against recall of each model's samples; legend: "
            + f"{PRD_ORDER}.</p>",
        ),
        Section(
            "curves",
            "Training curves of all models",
            embed_png(curves_all, "training curves", "plot")
            + "<p class='note'>Reconstruction term per epoch, from each run's metrics.csv.</p>",
        ),
        Section("models", "Per-model detail", ""),
    ]


def write_report(
    out: Path,
    results: dict[str, Any],
    tables,
    paper_dataset: str | None,
    loaded: dict[str, Run] | None = None,
    claims: list[dict[str, Any]] | None = None,
    orderings: list[dict[str, Any]] | None = None,
) -> Path:
    """report.html in `out`: contents, the tables, the paper's claims checked, the models side by
    side, then each model's detail (`results`: model -> one run's eval result; `loaded`: model ->
    its Run where one is loaded already), all in one file."""
    out, loaded = Path(out), loaded or {}
    figures, data = {}, None
    for model, result in results.items():
        run = loaded.get(model) or Run.of(result["run"], data=data)
        data = run.data  # read once, shared by the runs after it
        figures[model] = model_figures(run, result)
    first = next(iter(results.values()))
    sections = _table_sections(tables, results, paper_dataset)
    if claims is not None:
        body = claims_html(claims, heading=False)  # the section brings its own heading
        sections.append(Section("claims", "The paper's claims at this scale", body))
    if orderings:
        sections.append(
            Section("orderings", "Orderings against the paper's", orderings_html(orderings))
        )
    sections += _comparison_sections(out / "figures", results, figures)
    sections += [
        Section(
            f"model-{model}", model, _model_detail(model, results[model], figures[model], out), 3
        )
        for model in results
    ]
    intro = html.escape(
        f"{plural(len(results), 'model')} on {first['dataset']} ({first['preset']} preset), evaluated with "
        f"{describe_features(first)} on {first['n']} samples. Paper: Ghosh et al., From "
        "Variational to Deterministic Autoencoders (ICLR 2020)."
    )
    path = out / "report.html"
    atomic_write_text(path, page("raekit reproduction", sections, intro))
    return path
