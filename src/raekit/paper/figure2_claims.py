"""The paper's claims about Figure 2 (Section 6.2), checked on a reproduce-fig2 run's rows.

A verdict needs models that learned: the claims of a task read "not tested", with the reason,
when any model reconstructs fewer than 5% of held-out items exactly, or its BO proposals lie
more than 10x the test codes' median Mahalanobis distance from the codes (there a decoder emits
short, trivially valid strings), or when a model's `raekit grammar-check` is missing.

The rows are fig2.json's: per model the mean over BO seeds of the fraction of valid proposals and
of the average score, with their std over seeds (over trained models where a model type was
trained several times, `raekit.paper.figure2_seeds`). Comparisons are `claims.compare`'s: a claim holds
only where the gap exceeds the seeds' spread, and nothing is resolved with one seed. "No lower
than" also holds on an exact tie without spread (e.g. every seed of both models at 1.00 valid).
"""

from __future__ import annotations

from typing import Any

from raekit.grammar.sequence_task import sequence_task
from raekit.paper.claims import HOLDS, UNRESOLVED, all_of, compare, explain

NOT_TESTED = "not tested"
MIN_EXACT = 0.05  # least share of held-out items a model must give back exactly
MAX_DISTANCE_RATIO = 10.0  # BO proposals' distance from the codes, in test codes' distances
MIN_VALID = 0.01  # below this fraction of valid proposals an average score is not shown
FIG2_CLAIMS = {
    1: "GRAE's fraction of valid proposals is no lower than GVAE's, and GVAE's is higher than CVAE's",
    2: "GRAE's average score is no worse than GVAE's",
}
NEEDS = {1: ("grae", "gvae", "cvae"), 2: ("grae", "gvae")}  # the models each claim compares


def learning(check: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a `raekit grammar-check` report says about whether a model learned, for fig2.json's
    row: exact reconstruction (GrammarVAE's measure where it was taken, else greedy decoding)
    and the median Mahalanobis distances of test codes and BO proposals."""
    if not check:
        return None
    measures = check.get("grammarvae_measures") or {}
    if measures.get("reconstruction") is not None:
        exact = measures["reconstruction"]["accuracy"]
        how = "GrammarVAE's reconstruction accuracy"
    else:
        exact, how = check["reconstruction"]["exact"], "greedy reconstruction"
    distance = check.get("distance", {})
    return {
        "reconstruction_exact": exact,
        "reconstruction_measure": how,
        "test_code_distance": distance.get("test_codes"),
        "bo_distance": distance.get("bo_proposals"),
    }


def not_tested_reasons(rows: dict[str, dict[str, Any]]) -> list[str]:
    """Why the rows' models cannot test the paper's claims (empty when they can)."""
    reasons = []
    for model, row in rows.items():
        seen = row.get("learning")
        if seen is None:
            reasons.append(f"{model} has no `raekit grammar-check` (nothing shows it learned)")
            continue
        exact = seen["reconstruction_exact"]
        if exact < MIN_EXACT:
            reasons.append(
                f"{model} reconstructs {100 * exact:.1f}% of held-out items exactly "
                f"({seen['reconstruction_measure']}; at least {100 * MIN_EXACT:.0f}% needed)"
            )
        test, bo = seen.get("test_code_distance"), seen.get("bo_distance")
        if test and bo is not None and bo > MAX_DISTANCE_RATIO * test:
            reasons.append(
                f"{model}'s BO proposals lie {bo / test:.3g}x the test codes' median "
                f"Mahalanobis distance from the codes (at most {MAX_DISTANCE_RATIO:g}x)"
            )
    return reasons


def _stat(row: dict[str, Any], key: str) -> dict[str, Any] | None:
    """{"mean", "std"} of a row's number; std None with one seed (no spread measured). No
    average score below 1% valid proposals (it would rest on a handful of items)."""
    if row.get(key) is None:
        return None
    if key == "mean_score" and row.get("fraction_valid", 1.0) < MIN_VALID:
        return None
    std = row.get(f"{key}_std" if key == "fraction_valid" else "std_score")
    runs = max(row.get("seeds", 1), row.get("training_seeds", 1))
    return {"mean": row[key], "std": std if runs > 1 else None}


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
    claims_html show them); "not tested" with the reasons where the models did not learn."""
    higher = not sequence_task(task).lower_is_better
    untested = "; ".join(not_tested_reasons(rows))
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
        if untested and not missing:
            status, reason = NOT_TESTED, untested
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
