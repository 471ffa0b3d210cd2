"""The paper's claims (raekit.paper.claim_rules) checked on a reproduction's results.json and on
the paper's own Tables 1 and 2.

raekit's numbers: every part of a claim is a one-sided Welch test of the seed values
(raekit.paper.stats: conservative degrees of freedom, at least 3 seeds a side) at 5%; a part holds
when "a better" is significant, does not hold when "a worse" is, and is open otherwise. Which
direction is Holm-corrected over a claim's parts is said in `decide`: each claim's false "holds"
and false "does not hold" stay at most 5% (tests/test_claim_stats.py simulates both). The
paper's numbers (one value a cell): the exact comparison, a tie open. A claim of kind "all"
holds when every part holds and does not hold when any part does not; a claim about models
that were not evaluated is not resolved. The 2sVAE's REC., GMM and Interp. are its first
stage's, the VAE's: they are no part of any claim.
"""

from __future__ import annotations

import html
from typing import Any

from raekit.paper.claim_rules import CLAIMS, OBSERVATIONS, Cells, Claim
from raekit.paper.reported import TABLE1, TABLE2, first_stage_columns
from raekit.paper.results_file import aggregate, column, prd_column

# Figure 2's claims keep the spread rule; its names stay importable from here.
from raekit.paper.spread_rule import (  # noqa: F401
    FAILS,
    HOLDS,
    UNRESOLVED,
    all_of,
    any_of,
    compare,
    explain,
    spread_claims_html,
    spread_claims_markdown,
)
from raekit.paper.stats import ALPHA, MIN_SEEDS, holm, welch_p

PRD_NAMES = {"F_8": "f8", "F_1/8": "f1_8"}


def results_cells(results: dict[str, Any]) -> Cells:
    """{model: {column: seed values}} of a results.json, without the 2sVAE's first-stage cells."""
    cells: Cells = {}
    for model, summary in aggregate(results["runs"]).items():
        row = {}
        for name in ("REC", "N", "GMM", "Interp"):
            stat = column(summary, name)
            if stat is not None:
                row[name] = list(stat["values"])
        for name in ("N", "GMM"):
            for label, key in PRD_NAMES.items():
                stat = prd_column(summary, name, key)
                if stat is not None:
                    row[f"{name} {label}"] = list(stat["values"])
        skip = first_stage_columns(model, results["runs"].get(model))
        cells[model] = {k: v for k, v in row.items() if k.split(" ")[0] not in skip}
    return cells


def paper_cells(dataset: str) -> Cells:
    """The paper's Tables 1 and 2 for `dataset` as one-value cells (missing numbers left out)."""
    cells: Cells = {}
    for model, values in TABLE1[dataset].items():
        cells[model] = {
            c: [v] for c, v in zip(("REC", "N", "GMM", "Interp"), values) if v is not None
        }
    for model, pairs in TABLE2[dataset].items():
        for name, pair in zip(("N", "GMM"), pairs):
            cells.setdefault(model, {}).update(
                {f"{name} F_8": [pair[0]], f"{name} F_1/8": [pair[1]]}
            )
    return cells


def decide(parts: list[dict[str, Any]], exact: bool, kind: str = "all") -> list[dict[str, Any]]:
    """Each part's outcome: by the sign of the gap (exact) or by Welch tests. For a claim that
    needs every part ("all"), "holds" tests each part at 5% (a false "holds" of the claim needs
    a false part: intersection-union) and "does not hold" is Holm-corrected over the parts (one
    failing part refutes the claim); other claims Holm-correct both directions."""
    if exact:
        for p in parts:
            p["outcome"] = HOLDS if p["gap"] > 0 else FAILS if p["gap"] < 0 else UNRESOLVED
        return parts
    tests = [
        welch_p(p["a_values"], p["b_values"], p["factor"], not p["higher_is_better"]) for p in parts
    ]
    better = (
        [t is not None and t[0] <= ALPHA for t in tests]
        if kind == "all"
        else holm([t and t[0] for t in tests])
    )
    worse = holm([t and t[1] for t in tests])
    for p, t, up, down in zip(parts, tests, better, worse):
        p["p"], p["p_reverse"] = (None, None) if t is None else t
        p["outcome"] = HOLDS if up else FAILS if down else UNRESOLVED
    return parts


def combine(kind: str, parts: list[dict[str, Any]]) -> str:
    outcomes = [p["outcome"] for p in parts]
    if not outcomes:
        return UNRESOLVED
    if kind == "no-winner":  # each variant (group) must be beaten somewhere; a sweep refutes
        groups: dict[str, list[str]] = {}
        for p in parts:
            groups.setdefault(p["group"], []).append(p["outcome"])
        if any(all(o == FAILS for o in g) for g in groups.values()):
            return FAILS
        return HOLDS if all(HOLDS in g for g in groups.values()) else UNRESOLVED
    return (
        FAILS if FAILS in outcomes else HOLDS if all(o == HOLDS for o in outcomes) else UNRESOLVED
    )


def evaluate_claim(claim: Claim, cells: Cells, dataset: str, exact: bool) -> tuple[str, list]:
    parts = decide(claim.parts(cells, dataset), exact, claim.combine)
    return combine(claim.combine, parts), parts


def _seed_count(cells: Cells) -> int:
    counts = [len(v) for row in cells.values() for v in row.values()]
    return min(counts) if counts else 0


def check_claims(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every claim (the paper's, then raekit's own observations) on a results.json (its "runs"
    and "dataset"): quote, where, rule, raekit's status and parts, the paper's own status and
    parts on its table of the same dataset (None where the paper has none)."""
    dataset = str(results.get("dataset") or "")
    cells = results_cells(results)
    paper = paper_cells(dataset) if dataset in TABLE1 else None
    out = []
    for claim in CLAIMS + OBSERVATIONS:
        status, parts = evaluate_claim(claim, cells, dataset, exact=False)
        entry = {
            "claim": claim.key,
            "text": claim.text,
            "quote": claim.quote,
            "where": claim.where,
            "rule": claim.rule,
            "rule_by": claim.rule_by,
            "status": status,
            "reason": reason(status, parts, _seed_count(cells)),
            "parts": parts,
            "paper_status": None,
            "paper_parts": None,
        }
        if paper is not None and claim.quote is not None:
            entry["paper_status"], entry["paper_parts"] = evaluate_claim(
                claim, paper, dataset, exact=True
            )
        out.append(entry)
    return out


def paper_claims(dataset: str) -> list[dict[str, Any]]:
    """The paper's claims checked on its own tables of `dataset` (exact comparison)."""
    cells = paper_cells(dataset)
    return [
        {
            "claim": c.key,
            "text": c.text,
            **dict(zip(("status", "parts"), evaluate_claim(c, cells, dataset, True))),
        }
        for c in CLAIMS
    ]


def reason(status: str, parts: list[dict[str, Any]], seeds: int) -> str:
    if not parts:
        return "the models it compares were not evaluated"
    if seeds < MIN_SEEDS:
        return (
            f"{seeds} seed{'s' if seeds != 1 else ''}: nothing is decided below {MIN_SEEDS} seeds"
        )
    return part_summary(parts)


def part_summary(parts: list[dict[str, Any]]) -> str:
    """Part by part: 'holds: a, b; does not hold: c; open: d'."""
    groups = []
    for outcome, word in ((HOLDS, "holds"), (FAILS, "does not hold"), (UNRESOLVED, "open")):
        names = [p["part"] for p in parts if p["outcome"] == outcome]
        if names:
            groups.append(f"{word}: {', '.join(names)}")
    return "; ".join(groups)


def _status_cell(status: str | None) -> str:
    return "–" if status is None else f"**{status}**"


def _paper_cell(c: dict[str, Any]) -> str:
    if c["paper_status"] is None:
        return "–"
    misses = [p["part"] for p in c["paper_parts"] if p["outcome"] == FAILS]
    misses = misses if c["paper_status"] == FAILS else []
    return _status_cell(c["paper_status"]) + (f" ({'; '.join(misses)})" if misses else "")


def _claim_cell(c: dict[str, Any]) -> str:
    if c["quote"] is None:
        return f"{c['claim']}. {c['text']} ({c['where']})"
    return f'{c["claim"]}. "{c["quote"]}" ({c["where"]})'


def _rule_cell(c: dict[str, Any]) -> str:
    return c["rule"] + (" (raekit's rule)" if c["rule_by"] == "raekit" else "")


def claims_markdown(claims: list[dict[str, Any]]) -> str:
    """The paper's claims, then raekit's own observations, as markdown tables (Figure 2's
    claims, which carry no quote, in the spread rule's table)."""
    if claims and "quote" not in claims[0]:
        return spread_claims_markdown(claims)
    head = [
        "| claim (the paper's words) | rule | raekit | paper's own table | parts (raekit) |",
        "| --- | --- | --- | --- | --- |",
    ]
    paper = [c for c in claims if c["quote"] is not None]
    own = [c for c in claims if c["quote"] is None]
    lines = head + [
        f"| {_claim_cell(c)} | {_rule_cell(c)} | {_status_cell(c['status'])} | {_paper_cell(c)} "
        f"| {c['reason']} |"
        for c in paper
    ]
    if own:
        lines += ["", "raekit's own observations (not claims of the paper):", ""]
        lines += ["| observation | rule | raekit | parts |", "| --- | --- | --- | --- |"]
        lines += [
            f"| {_claim_cell(c)} | {c['rule']} | {_status_cell(c['status'])} | {c['reason']} |"
            for c in own
        ]
    return "\n".join(lines) + "\n"


RULE_WORDS = (
    "Each part of a claim is a one-sided Welch test on the seed values (conservative degrees of "
    f"freedom min(n_a, n_b) - 1, at least {MIN_SEEDS} seeds a side) at 5%: a part holds when "
    "'better' is significant, does not hold when 'worse' is (Holm-corrected over the claim's "
    "parts), and is open otherwise; a claim holds when every part holds and does not hold when "
    "any part does not (claim 5: Holm-corrected both ways). Either wrong verdict is at most 5% "
    "likely on equal means. The paper's own table is checked with the same rules on its single "
    "numbers (exact comparison). The 2sVAE's REC., GMM and Interp. are the VAE's (its first "
    "stage) and are left out."
)


def claims_html(claims: list[dict[str, Any]], heading: bool = True) -> str:
    if claims and "quote" not in claims[0]:
        return spread_claims_html(claims, heading)

    def row(c):
        cells = (_claim_cell(c), _rule_cell(c), c["status"], _paper_cell(c), c["reason"])
        return (
            "<tr>"
            + "".join(
                f"<td style='text-align:left'>{html.escape(x.replace('**', ''))}</td>"
                for x in cells
            )
            + "</tr>"
        )

    head = "".join(
        f"<th>{h}</th>" for h in ("claim", "rule", "raekit", "paper's own table", "parts")
    )
    return (
        ("<h3>The paper's claims at this scale</h3>" if heading else "")
        + f"<p>{html.escape(RULE_WORDS)}</p>"
        + f"<table><tr>{head}</tr>{''.join(row(c) for c in claims)}</table>"
    )


PAPER_DATASETS = {"mnist": "MNIST", "cifar10": "CIFAR-10", "celeba": "CelebA"}


def paper_claims_markdown() -> str:
    """The paper's claims checked on its own Tables 1 and 2, one column per dataset (exact
    comparison; the parts that do not hold in brackets)."""
    results = {d: paper_claims(d) for d in PAPER_DATASETS}
    lines = [
        "| claim | rule by | " + " | ".join(PAPER_DATASETS.values()) + " |",
        "| --- | --- |" + " --- |" * len(PAPER_DATASETS),
    ]
    for index, claim in enumerate(CLAIMS):
        cells = []
        for dataset in PAPER_DATASETS:
            c = results[dataset][index]
            misses = [p["part"] for p in c["parts"] if p["outcome"] == FAILS]
            misses = misses if c["status"] == FAILS else []
            cells.append(f"**{c['status']}**" + (f" ({'; '.join(misses)})" if misses else ""))
        lines.append(f"| {claim.key}. {claim.text} | {claim.rule_by} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
