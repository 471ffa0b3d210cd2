"""Tables 1 and 2 of the paper from a reproduction's results.json (format 2), as markdown or HTML."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from raekit.paper.captions import (
    PRD_ORDER,
    protocol_short,
    protocol_words,
    run_protocols,
)
from raekit.paper.reported import TABLE1, TABLE2, first_stage_columns
from raekit.paper.results_file import column, prd_column

# The 2sVAE's first stage is the VAE of the same seed: those cells are the VAE's.
FIRST_STAGE_MARK = " †"
FIRST_STAGE_NOTE = (
    "† the 2sVAE's first stage is the VAE of the same seed, so the marked cells (its GMM and "
    "Interp., and its REC. unless reconstructions pass through the second stage) are the VAE's; "
    "they are left out of every claim."
)


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]]
    goals: list[str | None] = field(
        default_factory=list
    )  # per column: "min", "max" or None (no bold)
    note: str = ""  # what the numbers mean, under the table
    key: str = ""  # the HTML id

    def markdown(self) -> str:
        lines = [
            self.title,
            "",
            "| " + " | ".join(self.header) + " |",
            "|" + " --- |" * len(self.header),
        ]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines) + "\n"

    def html(self, heading: bool = True) -> str:
        """The table with each column's best value in bold (each part of an "a / b" cell on its own)."""
        best = [
            _best([row[i] for row in self.rows], goal)
            for i, goal in zip(range(len(self.header)), self.goals + [None] * len(self.header))
        ]
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        body = "".join(
            "<tr>" + "".join(f"<td>{_cell(c, best[i])}</td>" for i, c in enumerate(row)) + "</tr>"
            for row in self.rows
        )
        ident = f' id="{self.key}-table"' if self.key else ""
        title = f"<h3>{html.escape(self.title)}</h3>" if heading else ""
        note = f"<p class='note'>{html.escape(self.note)}</p>" if self.note else ""
        return f"{title}<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?")


def _parts(cell: str) -> list[float | None]:
    """'1.23' -> [1.23]; '0.81 / 0.92' -> [0.81, 0.92]; '3.22 ± 0.10' -> [3.22]; '–' -> [None]."""
    out = []
    for part in cell.split(" / "):
        match = _NUMBER.match(part.strip())
        out.append(float(match.group(0)) if match else None)
    return out


def _best(cells: list[str], goal: str | None) -> list[float | None]:
    """The best value of each part position over a column's cells."""
    if goal not in ("min", "max"):
        return []
    columns = [_parts(c) for c in cells]
    width = max((len(p) for p in columns), default=0)
    pick = min if goal == "min" else max
    return [
        pick((p[i] for p in columns if len(p) > i and p[i] is not None), default=None)
        for i in range(width)
    ]


def _cell(cell: str, best: list[float | None]) -> str:
    if not best:
        return html.escape(cell)
    parts = cell.split(" / ")
    values = _parts(cell)
    return " / ".join(
        f"<b>{html.escape(p)}</b>"
        if i < len(best) and v is not None and v == best[i]
        else html.escape(p)
        for i, (p, v) in enumerate(zip(parts, values))
    )


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.2f}"


def fmt_stat(s: dict[str, Any] | None) -> str:
    """ "mean ± std" over seeds; the mean alone for a single seed; "–" when missing."""
    if s is None:
        return "–"
    return f"{s['mean']:.2f}" if s["std"] is None else f"{s['mean']:.2f} ± {s['std']:.2f}"


def seeds_cell(summary: dict[str, Any]) -> str:
    n = len(summary["seeds"])
    return "1 (single seed)" if n == 1 else str(n)


def _pair(p) -> str:
    return "–" if p is None else f"{p[0]:.2f} / {p[1]:.2f}"


def _title(results: dict[str, Any], what: str, protocol: bool = True) -> str:
    images = f"; {protocol_short(run_protocols(results))}" if protocol else ""
    return (
        f"{what} ({results['extractor']} features, {results['n']} samples vs {results['n_reference']} "
        f"test images{images}; mean ± std over seeds)"
    )


def _marked(results: dict[str, Any], model: str, name: str, cell: str) -> str:
    columns = first_stage_columns(model, results.get("runs", {}).get(model))
    return cell + FIRST_STAGE_MARK if name in columns else cell


def table1(results: dict[str, Any], paper_dataset: str | None = None) -> Table:
    """FID of reconstructions, N samples, GMM samples and interpolations, per model (results.json)."""
    header = ["model", "seeds", "REC.", "N", "GMM", "Interp."]
    if paper_dataset:
        header += ["paper REC.", "paper N", "paper GMM", "paper Interp."]
    rows = []
    for model, summary in results["aggregate"].items():
        row = [model, seeds_cell(summary)] + [
            _marked(results, model, c, fmt_stat(column(summary, c)))
            for c in ("REC", "N", "GMM", "Interp")
        ]
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
        rows.append(
            [model]
            + [fmt_stat(summary["fid"].get(k)) for k in kinds]
            + [_fmt(sum(v) / len(v)) if v and None not in v else "–" for v in logliks]
        )
    header = ["model", *(f"FID {k}" for k in kinds), *(f"valid log-lik {k}" for k in kinds)]
    return Table(
        "Ex-post densities: FID of samples and validation-code log-likelihood", header, rows
    )


def table2(results: dict[str, Any], paper_dataset: str | None = None) -> Table:
    """PRD, F_8 (recall) / F_1/8 (precision), of N and GMM samples per model (results.json); the
    paper's pairs beside them in the order the paper prints them, which is F_8 first."""
    header = ["model", "seeds", "N", "GMM"] + (["paper N", "paper GMM"] if paper_dataset else [])
    rows = []
    for model, summary in results["aggregate"].items():
        row = [model, seeds_cell(summary)]
        for name in ("N", "GMM"):
            f8, f1_8 = prd_column(summary, name, "f8"), prd_column(summary, name, "f1_8")
            cell = "–" if f8 is None else f"{fmt_stat(f8)} / {fmt_stat(f1_8)}"
            row.append(_marked(results, model, name, cell) if name == "GMM" else cell)
        if paper_dataset:
            row += [_pair(p) for p in TABLE2[paper_dataset].get(model, (None, None))]
        rows.append(row)
    return Table(_title(results, f"Table 2: PRD, {PRD_ORDER}", protocol=False), header, rows)


FEATURE_WORDS = {
    "inception": "TF-FID Inception-v3 pool_3 features (2048-d, the paper's network)",
    "classifier": "the features of a small CNN raekit trains on the dataset's labels",
}


def describe_features(result: dict[str, Any]) -> str:
    """The feature extractor behind a result, in words."""
    name = str(result.get("features") or result.get("extractor", ""))
    words = next(
        (text for key, text in FEATURE_WORDS.items() if name.startswith(key)), f"{name} features"
    )
    return f"{words} ({result.get('extractor', name)})"


def annotate(
    table: Table, key: str, result: dict[str, Any], paper: bool = False, protocols=None
) -> Table:
    """Give a Table 1 / Table 2 / densities table its id, the sense of each column (for the bold
    best value) and a line saying what the numbers are, from one evaluation `result` and the
    protocols the runs recorded (default: `result`'s)."""
    protocols = protocols if protocols is not None else [result.get("protocol") or {}]
    features, n, ref = (
        describe_features(result),
        result["n"],
        result.get("n_reference", result["n"]),
    )
    if key == "table1":
        goals = ["min" if h not in ("model", "seeds") else None for h in table.header]
        note = (
            f"FID, lower is better (bold: the best of each column), of {n} images against {ref} test images "
            f"in {features}. {protocol_words(protocols)} N and GMM: decoded samples of the N "
            "density (a fitted Gaussian; N(0, I) for VAE and WAE; the second stage for the 2sVAE) and "
            f"of a 10-component GMM. {FIRST_STAGE_NOTE} FIDs of other extractors or sample counts are "
            "not comparable"
            + (": the paper columns are Inception FIDs of 10k samples." if paper else ".")
            + " With several seeds a cell is the mean ± the standard deviation over seeds."
        )
    elif key == "table2":
        goals = ["max" if h not in ("model", "seeds") else None for h in table.header]
        note = (
            f"PRD (Sajjadi et al., 2018) of {n} samples against {ref} test images in {features}: "
            f"{PRD_ORDER}, higher is better (bold: the best of each column); "
            "20 clusters, 1001 angles, averaged over 10 clusterings. The paper heads its Table 2 "
            "'precision / recall', but the official code writes F_8 (recall) first: its pairs are "
            f"shown as printed, beside the same quantities. {FIRST_STAGE_NOTE}"
        )
    else:
        # Log-likelihoods are densities over each model's own latent space: no best across models.
        goals = [None if h == "model" or "log-lik" in h else "min" for h in table.header]
        note = (
            "FID of each density's decoded samples (lower is better; bold: the best of each FID "
            "column), and the mean log-likelihood of the validation codes under each density fitted "
            "on the training codes (higher is better within a row: the density generalises). The "
            "log-likelihoods of different models are over different latent spaces and not "
            f"comparable down a column, so none is bold. {n} samples, {features}."
        )
    table.goals, table.note, table.key = goals, note, key
    return table
