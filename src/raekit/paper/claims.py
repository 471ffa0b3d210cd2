"""The paper's five claims about Tables 1 and 2, checked on a reproduction's results.json.

Each claim is a combination of pairwise comparisons "a is better than b" between models' per-seed
numbers. One comparison, with means m_a, m_b and sample standard deviations s_a, s_b over seeds
(FID: lower is better; PRD: higher is better; `factor` scales b, e.g. 1.1 for "within 10%"):
  gap = factor * m_b - m_a (FID), or m_a - factor * m_b (PRD);  spread = s_a + factor * s_b
  holds          if gap > spread,
  does not hold  if -gap > spread (b is better by more than the spread),
  not resolved   otherwise, and whenever either side has a single seed (no spread is measured).
So a claim never holds on a difference the seeds' spread could explain; "no worse than" is
checked as "better than", since a tie cannot be told from noise. Combinations are three-valued:
"for all" holds when every part holds and does not hold when any part does not; "there is" holds
when any part holds and does not hold when every part does not; otherwise not resolved. A claim
about models that were not evaluated is not resolved.
"""

from __future__ import annotations

import html
from typing import Any

from raekit.paper.results import aggregate, column, prd_column

HOLDS, FAILS, UNRESOLVED = "holds", "does not hold", "not resolved at this scale"
RAE_VARIANTS = ("rae", "rae-l2", "rae-gp", "rae-sn")
DETERMINISTIC = RAE_VARIANTS + ("ae",)
STOCHASTIC = ("vae", "cv-vae")
CLAIMS = {
    1: "ex-post density estimation improves sample quality: GMM FID < N FID for every model (Sec. 6.1)",
    2: "an RAE variant has the best GMM FID, and RAE variants are within 10% of the best on N, REC and "
    "Interp. (Table 1)",
    3: "GMM samples improve PRD precision (F_1/8) and recall (F_8) over N samples (Table 2)",
    4: "deterministic models (AE, RAEs) reconstruct better than the VAE and CV-VAE (REC column)",
    5: "interpolations of RAEs are no worse than those of the VAE (Interp. column)",
}


def compare(
    label_a: str, a, label_b: str, b, higher_is_better: bool = False, factor: float = 1.0
) -> dict[str, Any]:
    """ "a better than factor * b" for two STATs (see the module docstring)."""
    gap = (a["mean"] - factor * b["mean"]) if higher_is_better else (factor * b["mean"] - a["mean"])
    if a["std"] is None or b["std"] is None:
        spread, outcome = None, UNRESOLVED
    else:
        spread = a["std"] + factor * b["std"]
        outcome = HOLDS if gap > spread else FAILS if -gap > spread else UNRESOLVED
    return {
        "a": label_a,
        "b": label_b,
        "factor": factor,
        "a_mean": a["mean"],
        "a_std": a["std"],
        "b_mean": b["mean"],
        "b_std": b["std"],
        "gap": gap,
        "spread": spread,
        "outcome": outcome,
    }


def all_of(outcomes: list[str]) -> str:
    if not outcomes:
        return UNRESOLVED
    return (
        FAILS if FAILS in outcomes else HOLDS if all(o == HOLDS for o in outcomes) else UNRESOLVED
    )


def any_of(outcomes: list[str]) -> str:
    if not outcomes:
        return UNRESOLVED
    return (
        HOLDS if HOLDS in outcomes else FAILS if all(o == FAILS for o in outcomes) else UNRESOLVED
    )


def _fid(agg, model, name):
    return column(agg[model], name) if model in agg else None


def _pairs(agg, firsts, seconds, name, factor=1.0) -> list[dict[str, Any]]:
    """compare(first, second) on FID column `name` for every pair where both have the number."""
    return [
        compare(f"{x} {name}", _fid(agg, x, name), f"{y} {name}", _fid(agg, y, name), factor=factor)
        for x in firsts
        for y in seconds
        if x != y and _fid(agg, x, name) is not None and _fid(agg, y, name) is not None
    ]


def _claim_density(agg) -> tuple[str, list]:
    comps = [
        compare(f"{m} GMM", column(s, "GMM"), f"{m} N", column(s, "N"))
        for m, s in agg.items()
        if column(s, "GMM") is not None and column(s, "N") is not None
    ]
    return all_of([c["outcome"] for c in comps]), comps


def _rae_beats_others(agg, name, factor) -> tuple[str, list]:
    """There is an RAE variant that is better than factor x every other model on column `name`."""
    raes = [m for m in RAE_VARIANTS if _fid(agg, m, name) is not None]
    others = [m for m in agg if m not in RAE_VARIANTS and _fid(agg, m, name) is not None]
    if not raes or not others:
        return UNRESOLVED, []
    per_rae = {r: _pairs(agg, [r], others, name, factor) for r in raes}
    outcome = any_of([all_of([c["outcome"] for c in comps]) for comps in per_rae.values()])
    return outcome, [c for comps in per_rae.values() for c in comps]


def _claim_rae_best(agg) -> tuple[str, list]:
    parts = [_rae_beats_others(agg, "GMM", 1.0)] + [
        _rae_beats_others(agg, c, 1.1) for c in ("N", "REC", "Interp")
    ]
    return all_of([p[0] for p in parts]), [c for p in parts for c in p[1]]


def _claim_prd(agg) -> tuple[str, list]:
    comps = []
    for model, s in agg.items():
        for metric, label in (("f8", "F_8"), ("f1_8", "F_1/8")):
            gmm, normal = prd_column(s, "GMM", metric), prd_column(s, "N", metric)
            if gmm is not None and normal is not None:
                comps.append(
                    compare(
                        f"{model} GMM {label}",
                        gmm,
                        f"{model} N {label}",
                        normal,
                        higher_is_better=True,
                    )
                )
    return all_of([c["outcome"] for c in comps]), comps


def _claim_rec(agg) -> tuple[str, list]:
    comps = _pairs(agg, DETERMINISTIC, STOCHASTIC, "REC")
    return all_of([c["outcome"] for c in comps]), comps


def _claim_interp(agg) -> tuple[str, list]:
    comps = _pairs(agg, RAE_VARIANTS, ("vae",), "Interp")
    return all_of([c["outcome"] for c in comps]), comps


_CHECKS = {1: _claim_density, 2: _claim_rae_best, 3: _claim_prd, 4: _claim_rec, 5: _claim_interp}


def check_claims(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The five claims on a results.json (format 2; only its "runs" are read): for each, its status
    (holds / does not hold / not resolved at this scale), a one-line reason and every comparison."""
    agg = aggregate(results["runs"])
    out = []
    for number, check in _CHECKS.items():
        status, comps = check(agg)
        out.append(
            {
                "claim": number,
                "text": CLAIMS[number],
                "status": status,
                "reason": explain(status, comps),
                "comparisons": comps,
            }
        )
    return out


def _fmt(mean, std) -> str:
    return f"{mean:.2f}" if std is None else f"{mean:.2f} ± {std:.2f}"


def describe(c: dict[str, Any]) -> str:
    b = f"{c['factor']:g} x {c['b']}" if c["factor"] != 1 else c["b"]
    spread = "one seed, no spread" if c["spread"] is None else f"spread {c['spread']:.2f}"
    a, b_value = _fmt(c["a_mean"], c["a_std"]), _fmt(c["b_mean"], c["b_std"])
    return f"{c['a']} {a} vs {b} {b_value}: gap {c['gap']:.2f}, {spread}"


def explain(status: str, comps: list[dict[str, Any]]) -> str:
    if not comps:
        return "the models it compares were not evaluated"
    counts = {o: sum(c["outcome"] == o for c in comps) for o in (HOLDS, FAILS, UNRESOLVED)}
    summary = f"{len(comps)} comparisons: {counts[HOLDS]} hold, {counts[FAILS]} do not, {counts[UNRESOLVED]} unresolved"
    if status == HOLDS:
        return summary
    worst = [c for c in comps if c["outcome"] == (FAILS if status == FAILS else UNRESOLVED)]
    if (
        not worst
    ):  # e.g. "there is" not resolved because some RAE's comparisons fail, others are open
        worst = [c for c in comps if c["outcome"] != HOLDS]
    return f"{summary}; e.g. {describe(worst[0])}"


def claims_markdown(claims: list[dict[str, Any]]) -> str:
    lines = ["| claim | status | why |", "| --- | --- | --- |"]
    lines += [f"| {c['claim']}. {c['text']} | **{c['status']}** | {c['reason']} |" for c in claims]
    return "\n".join(lines) + "\n"


def claims_html(claims: list[dict[str, Any]], heading: bool = True) -> str:
    rows = "".join(
        f"<tr><td style='text-align:left'>{c['claim']}. {html.escape(c['text'])}</td>"
        f"<td><b>{html.escape(c['status'])}</b></td>"
        f"<td style='text-align:left'>{html.escape(c['reason'])}</td></tr>"
        for c in claims
    )
    return (
        ("<h3>The paper's claims at this scale</h3>" if heading else "")
        + "<p>A claim holds only where the gap exceeds the "
        "seeds' spread (sum of the standard deviations over seeds); with one seed nothing is resolved.</p>"
        f"<table><tr><th>claim</th><th>status</th><th>why</th></tr>{rows}</table>"
    )
