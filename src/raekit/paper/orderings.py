"""How raekit's ordering of the models in each Table 1 column compares with the paper's: Spearman's
rank correlation of the seed means against the paper's numbers, and where the ranks differ.

Only orderings are compared: FIDs of other feature extractors, widths or schedules have other
scales, and their ratios do not carry over either."""

from __future__ import annotations

import html
from typing import Any

from raekit.paper.captions import plural
from raekit.paper.claims import results_cells
from raekit.paper.reported import TABLE1
from raekit.paper.stats import average_ranks, spearman

COLUMNS = ("REC", "N", "GMM", "Interp")
LABELS = {"REC": "REC.", "N": "N", "GMM": "GMM", "Interp": "Interp."}


def column_orderings(results: dict[str, Any], dataset: str) -> list[dict[str, Any]]:
    """Per Table 1 column: the models both tables rank (the 2sVAE's first-stage cells are the
    VAE's and left out), raekit's and the paper's ranks (1 = lowest FID) and Spearman's rho."""
    cells = results_cells(results)
    paper = TABLE1[dataset]
    out = []
    for index, name in enumerate(COLUMNS):
        models = [
            m for m in cells if cells[m].get(name) and m in paper and paper[m][index] is not None
        ]
        ours = [sum(cells[m][name]) / len(cells[m][name]) for m in models]
        theirs = [paper[m][index] for m in models]
        out.append(
            {
                "column": name,
                "models": models,
                "raekit_ranks": average_ranks(ours).tolist() if models else [],
                "paper_ranks": average_ranks(theirs).tolist() if models else [],
                "spearman": spearman(ours, theirs) if len(models) >= 2 else None,
            }
        )
    return out


def _rank(value: float) -> str:
    return f"{value:g}"


def differences(ordering: dict[str, Any]) -> str:
    """The models whose ranks differ, largest moves first ("the orderings agree" when none)."""
    moved = sorted(
        (
            (abs(ours - theirs), model, ours, theirs)
            for model, ours, theirs in zip(
                ordering["models"], ordering["raekit_ranks"], ordering["paper_ranks"]
            )
            if ours != theirs
        ),
        key=lambda item: (-item[0], item[1]),
    )
    if not moved:
        return "the orderings agree"
    ranks = ", ".join(
        f"{model} {_rank(ours)} (paper {_rank(theirs)})" for _, model, ours, theirs in moved
    )
    return f"raekit ranks differently {ranks}"


def describe(ordering: dict[str, Any]) -> str:
    """One sentence: rho over how many models, and where the ranks differ."""
    label = LABELS[ordering["column"]]
    if ordering["spearman"] is None:
        return f"{label}: fewer than two models to rank."
    n = len(ordering["models"])
    return f"{label}: Spearman rho {ordering['spearman']:.2f} over {plural(n, 'model')}; {differences(ordering)}."


def orderings_markdown(orderings: list[dict[str, Any]]) -> str:
    lines = [
        "| column | Spearman rho | models | where the orderings differ (rank 1 = lowest FID) |",
        "| --- | --- | --- | --- |",
    ]
    for o in orderings:
        rho = "–" if o["spearman"] is None else f"{o['spearman']:.2f}"
        where = "–" if o["spearman"] is None else differences(o)
        lines.append(f"| {LABELS[o['column']]} | {rho} | {len(o['models'])} | {where} |")
    return "\n".join(lines) + "\n"


def orderings_html(orderings: list[dict[str, Any]]) -> str:
    items = "".join(f"<li>{html.escape(describe(o))}</li>" for o in orderings)
    return (
        "<p>Ranks of the models in each Table 1 column (1 = lowest FID; seed means) against the "
        "paper's. Only orderings compare: other features and scales change values and ratios.</p>"
        f"<ul>{items}</ul>"
    )
