"""The paper's claims about Figure 2 (Section 6.2), checked on a reproduce-fig2 run's rows.

The rows are fig2.json's: per model the mean over BO seeds of the fraction of valid proposals and
of the average score, with their std over seeds. Comparisons are `claims.compare`'s: a claim holds
only where the gap exceeds the seeds' spread, and nothing is resolved with one seed. "No lower
than" also holds on an exact tie without spread (e.g. every seed of both models at 1.00 valid).
"""

from __future__ import annotations

from typing import Any

from raekit.paper.claims import HOLDS, UNRESOLVED, all_of, compare, explain

FIG2_CLAIMS = {
    1: "GRAE's fraction of valid proposals is no lower than GVAE's, and GVAE's is higher than CVAE's",
    2: "GRAE's average score is no worse than GVAE's",
}
NEEDS = {1: ("grae", "gvae", "cvae"), 2: ("grae", "gvae")}  # the models each claim compares
LOWER_IS_BETTER = {"expressions": True, "molecules": False}  # scores as fig2.json shows them


def _stat(row: dict[str, Any], key: str) -> dict[str, Any] | None:
    """{"mean", "std"} of a row's number; std None with one seed (no spread measured)."""
    if row.get(key) is None:
        return None
    std = row.get(f"{key}_std" if key == "fraction_valid" else "std_score")
    return {"mean": row[key], "std": std if row.get("seeds", 1) > 1 else None}


def _compare(rows, a: str, b: str, key: str, higher: bool, ties_hold: bool) -> list[dict]:
    stat_a, stat_b = (_stat(rows[m], key) if m in rows else None for m in (a, b))
    if stat_a is None or stat_b is None:
        return []
    c = compare(f"{a} {key}", stat_a, f"{b} {key}", stat_b, higher_is_better=higher)
    if ties_hold and c["outcome"] == UNRESOLVED and c["gap"] == 0 and c["spread"] == 0:
        c["outcome"] = HOLDS
    return [c]


def check_figure2_claims(task: str, rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Both claims for ``task``'s rows, in `claims.check_claims`' format (claims_markdown and
    claims_html show them)."""
    higher = not LOWER_IS_BETTER[task]
    parts = {
        1: _compare(rows, "grae", "gvae", "fraction_valid", True, True)
        + _compare(rows, "gvae", "cvae", "fraction_valid", True, False),
        2: _compare(rows, "grae", "gvae", "mean_score", higher, True),
    }
    out = []
    for number, comps in parts.items():
        missing = [m for m in NEEDS[number] if m not in rows]
        status = UNRESOLVED if missing else all_of([c["outcome"] for c in comps])
        reason = f"no result for {', '.join(missing)}" if missing else explain(status, comps)
        out.append(
            {
                "claim": number,
                "text": FIG2_CLAIMS[number],
                "status": status,
                "reason": reason,
                "comparisons": comps,
            }
        )
    return out
