"""The spread rule that Figure 2's claims use (raekit.paper.figure2_claims): one comparison "a
better than factor x b" holds if its gap exceeds the sum of the two sample standard deviations
over seeds, does not hold if the gap the other way does, and is not resolved otherwise or with
one seed. Combinations are three-valued: "for all" holds when every part holds and does not hold
when any part does not; "there is" holds when any part holds and does not hold when every part
does not. (Tables 1 and 2's claims use a stated test instead: raekit.paper.claims.)
"""

from __future__ import annotations

import html
from typing import Any

from raekit.paper.captions import plural

HOLDS, FAILS, UNRESOLVED = "holds", "does not hold", "not resolved at this scale"


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
    summary = (
        f"{plural(len(comps), 'comparison')}: {counts[HOLDS]} {'holds' if counts[HOLDS] == 1 else 'hold'}, "
        f"{counts[FAILS]} {'does' if counts[FAILS] == 1 else 'do'} not, {counts[UNRESOLVED]} unresolved"
    )
    if status == HOLDS:
        return summary
    worst = [c for c in comps if c["outcome"] == (FAILS if status == FAILS else UNRESOLVED)]
    if (
        not worst
    ):  # e.g. "there is" not resolved because some RAE's comparisons fail, others are open
        worst = [c for c in comps if c["outcome"] != HOLDS]
    return f"{summary}; e.g. {describe(worst[0])}"


def spread_claims_markdown(claims: list[dict[str, Any]]) -> str:
    lines = ["| claim | status | why |", "| --- | --- | --- |"]
    lines += [f"| {c['claim']}. {c['text']} | **{c['status']}** | {c['reason']} |" for c in claims]
    return "\n".join(lines) + "\n"


def spread_claims_html(claims: list[dict[str, Any]], heading: bool = True) -> str:
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
