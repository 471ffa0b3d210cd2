"""Tables 1 and 2 of the paper from evaluation results, as markdown or HTML."""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from raekit.paper_results import TABLE1, TABLE2


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]]

    def markdown(self) -> str:
        lines = [self.title, "", "| " + " | ".join(self.header) + " |", "|" + " --- |" * len(self.header)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in self.rows)
        return f"<h3>{html.escape(self.title)}</h3><table><tr>{head}</tr>{body}</table>"


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.2f}"


def _pair(p) -> str:
    return "–" if p is None else f"{p[0]:.2f} / {p[1]:.2f}"


def table1(results: dict[str, Any], paper_dataset: str | None = None) -> Table:
    """FID of reconstructions, N samples, GMM samples and interpolations, per model."""
    first = next(iter(results.values()))
    title = f"Table 1: FID ({first['extractor']} features, {first['n']} samples vs {first['n_reference']} test images)"
    header = ["model", "REC.", "N", "GMM", "Interp."]
    if paper_dataset:
        header += ["paper REC.", "paper N", "paper GMM", "paper Interp."]
    rows = []
    for model, r in results.items():
        cols, fid = r["columns"], r["fid"]
        row = [model] + [_fmt(v) for v in (fid.get("rec"), fid.get(cols["N"]),
                                           fid.get(cols["GMM"]) if cols["GMM"] else None, fid.get("interp"))]
        if paper_dataset:
            row += [_fmt(v) for v in TABLE1[paper_dataset].get(model, (None,) * 4)]
        rows.append(row)
    return Table(title, header, rows)


def density_table(results: dict[str, Any]) -> Table:
    """FID of samples from every density evaluated (one column per density)."""
    kinds = sorted({k for r in results.values() for k in r["fid"]} - {"rec", "interp"})
    rows = [[model] + [_fmt(r["fid"].get(k)) for k in kinds] + [_fmt(r.get("valid_loglik", {}).get(k)) for k in kinds]
            for model, r in results.items()]
    header = ["model", *(f"FID {k}" for k in kinds), *(f"valid log-lik {k}" for k in kinds)]
    return Table("Ex-post densities: FID of samples and validation-code log-likelihood", header, rows)


def table2(results: dict[str, Any], paper_dataset: str | None = None) -> Table:
    """PRD (F_8 / F_1/8) of N and GMM samples, per model."""
    header = ["model", "N", "GMM"] + (["paper N", "paper GMM"] if paper_dataset else [])
    rows = []
    for model, r in results.items():
        cols, prd = r["columns"], r["prd"]
        ours = [prd.get(cols["N"]), prd.get(cols["GMM"]) if cols["GMM"] else None]
        row = [model] + [_pair(None if p is None else (p["f8"], p["f1_8"])) for p in ours]
        if paper_dataset:
            row += [_pair(p) for p in TABLE2[paper_dataset].get(model, (None, None))]
        rows.append(row)
    return Table("Table 2: precision / recall (F_8 / F_1/8)", header, rows)
