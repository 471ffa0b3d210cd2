"""A self-contained HTML report: contents, Tables 1 and 2, the models side by side (paper Fig. 4),
PRD and training curves of all models in one plot each, then each model's figures (drawn by
`raekit.paper.report_figures`)."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

from raekit.io.atomic import atomic_write_text
from raekit.paper.captions import PRD_ORDER, plural
from raekit.paper.claims import claims_html
from raekit.paper.htmlpage import Section, embed_png, figure, page
from raekit.paper.orderings import orderings_html
from raekit.paper.report_figures import (
    comparison_curves_figure,
    comparison_prd_figure,
    model_figures,
)
from raekit.paper.tables import annotate, describe_features
from raekit.runs import Run

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
