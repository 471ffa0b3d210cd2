"""Tables 1 and 2 of the paper from a reproduction's results.json (format 2), as markdown or HTML."""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from raekit.paper_results import TABLE1, TABLE2
from raekit.results import column, prd_column


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


def fmt_stat(s: dict[str, Any] | None) -> str:
    """"mean ± std" over seeds; the mean alone for a single seed; "–" when missing."""
    if s is None:
        return "–"
    return f"{s['mean']:.2f}" if s["std"] is None else f"{s['mean']:.2f} ± {s['std']:.2f}"


def seeds_cell(summary: dict[str, Any]) -> str:
    n = len(summary["seeds"])
    return "1 (single seed)" if n == 1 else str(n)


def _pair(p) -> str:
    return "–" if p is None else f"{p[0]:.2f} / {p[1]:.2f}"


def _title(results: dict[str, Any], what: str) -> str:
    return (f"{what} ({results['extractor']} features, {results['n']} samples vs {results['n_reference']} "
            f"test images; mean ± std over seeds)")


def table1(results: dict[str, Any], paper_dataset: str | None = None) -> Table:
    """FID of reconstructions, N samples, GMM samples and interpolations, per model (results.json)."""
    header = ["model", "seeds", "REC.", "N", "GMM", "Interp."]
    if paper_dataset:
        header += ["paper REC.", "paper N", "paper GMM", "paper Interp."]
    rows = []
    for model, summary in results["aggregate"].items():
        row = [model, seeds_cell(summary)] + [fmt_stat(column(summary, c)) for c in ("REC", "N", "GMM", "Interp")]
        if paper_dataset:
            row += [_fmt(v) for v in TABLE1[paper_dataset].get(model, (None,) * 4)]
        rows.append(row)
    return Table(_title(results, "Table 1: FID"), header, rows)


def density_table(results: dict[str, Any]) -> Table:
    """FID of samples from every density evaluated (one column per density), and the validation
    codes' log-likelihood under each density (seed means)."""
    aggregate = results["aggregate"]
    kinds = sorted({k for s in aggregate.values() for k in s["fid"]} - {"rec", "interp"})
    rows = []
    for model, summary in aggregate.items():
        runs = results["runs"][model].values()
        logliks = [[r.get("valid_loglik", {}).get(k) for r in runs] for k in kinds]
        rows.append([model] + [fmt_stat(summary["fid"].get(k)) for k in kinds]
                    + [_fmt(sum(v) / len(v)) if v and None not in v else "–" for v in logliks])
    header = ["model", *(f"FID {k}" for k in kinds), *(f"valid log-lik {k}" for k in kinds)]
    return Table("Ex-post densities: FID of samples and validation-code log-likelihood", header, rows)


def table2(results: dict[str, Any], paper_dataset: str | None = None) -> Table:
    """PRD (F_8 / F_1/8) of N and GMM samples, per model (results.json)."""
    header = ["model", "seeds", "N", "GMM"] + (["paper N", "paper GMM"] if paper_dataset else [])
    rows = []
    for model, summary in results["aggregate"].items():
        row = [model, seeds_cell(summary)]
        for name in ("N", "GMM"):
            f8, f1_8 = prd_column(summary, name, "f8"), prd_column(summary, name, "f1_8")
            row.append("–" if f8 is None else f"{fmt_stat(f8)} / {fmt_stat(f1_8)}")
        if paper_dataset:
            row += [_pair(p) for p in TABLE2[paper_dataset].get(model, (None, None))]
        rows.append(row)
    return Table(_title(results, "Table 2: precision / recall (F_8 / F_1/8)"), header, rows)
