"""A self-contained HTML report: tables, and per model its figures embedded as PNG."""
from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import numpy as np

from raekit import runs
from raekit.atomic import atomic_write_text

FIGURES = ("reconstructions", "samples-N", "samples-GMM", "interpolations", "neighbours", "curves", "prd")


def model_figures(run_dir: Path, result: dict[str, Any], data, seed: int = 0) -> dict[str, Path]:
    """Write a run's figures into RUN/figures/ and return their paths (Figures 1, 4-6; PRD; curves)."""
    from raekit import plots
    from raekit.generate import as_model, interpolate_images, load_run_density, reconstruct, sample_images
    from raekit.neighbours import nearest_neighbours

    model, config, _ = as_model(run_dir)
    out = Path(run_dir) / "figures"
    out.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    valid = data.valid[:config.valid_limit]
    paths = {name: out / f"{name}.png" for name in FIGURES}
    originals = valid[rng.choice(len(valid), 10, replace=len(valid) < 10)]
    plots.reconstruction_figure(originals / 255.0, reconstruct(model, originals), paths["reconstructions"])
    samples = {}
    for column in ("N", "GMM"):
        kind = result["columns"].get(column)
        if kind:
            samples[column] = sample_images(model, load_run_density(run_dir, kind, data=data), 64, seed)
            plots.samples_figure(samples[column], paths[f"samples-{column}"])
    pairs = rng.choice(len(valid), (5, 2), replace=len(valid) < 10)
    plots.interpolation_figure(interpolate_images(model, valid[pairs[:, 0]], valid[pairs[:, 1]], 10),
                               paths["interpolations"])
    if "GMM" in samples:
        train = data.train[:config.train_limit].astype(np.float32) / 255.0
        query = samples["GMM"][:6]
        index, _ = nearest_neighbours(query, train, k=5)
        plots.neighbours_figure(query, train[index], paths["neighbours"])
    plots.curves_figure(runs.read_metrics(run_dir), paths["curves"])
    prd_figure(result.get("prd", {}), paths["prd"])
    return {name: path for name, path in paths.items() if path.exists()}


def prd_figure(prd: dict[str, Any], path: Path) -> None:
    """PRD curves (precision against recall) of each density's samples."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(3.5, 3.5))
    for kind, curve in prd.items():
        ax.plot(curve["recall"], curve["precision"], label=f"{kind} (F8 {curve['f8']:.2f}, F1/8 {curve['f1_8']:.2f})")
    ax.set(xlim=(0, 1), ylim=(0, 1.05), xlabel="recall", ylabel="precision")
    if prd:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _embed(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(Path(path).stem)}">'


def write_report(out: Path, results: dict[str, Any], tables, paper_dataset: str | None, data=None,
                 claims: list[dict[str, Any]] | None = None) -> Path:
    """report.html in `out`: the tables, the paper's claims checked, then each model's figures
    (`results`: model -> one run's eval result), all in one file."""
    from raekit.data import load_images
    out = Path(out)
    sections = ["<h1>raekit reproduction</h1>", *(table.html() for table in tables)]
    if claims is not None:
        from raekit.claims import claims_html
        sections.append(claims_html(claims))
    if paper_dataset:
        sections.append(f"<p>Paper columns: Ghosh et al. (ICLR 2020), {html.escape(paper_dataset)}, "
                        "Inception FID over 10k samples.</p>")
    for model, result in results.items():
        run_dir = Path(result["run"])
        data = data or load_images(runs.read_config(run_dir).dataset, runs.read_config(run_dir).data_root)
        figures = model_figures(run_dir, result, data)
        sections.append(f"<h2>{html.escape(model)}</h2><div class='figs'>" + "".join(
            f"<figure>{_embed(p)}<figcaption>{html.escape(name)}</figcaption></figure>"
            for name, p in figures.items()) + "</div>")
    style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}figure{display:inline-block;"
             "margin:6px;vertical-align:top}img{max-width:420px;image-rendering:pixelated}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>raekit report</title>"
            f"<style>{style}</style></head><body>{''.join(sections)}</body></html>")
    path = out / "report.html"
    atomic_write_text(path, page)
    return path
