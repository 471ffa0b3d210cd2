"""Figure 2's row from several BO runs, by the rules of GrammarVAE's get_final_results.py, with
two corrections: an invalid proposal's fill score never enters an average, and a run without a
valid proposal is reported (not silently dropped).

Scores are minimised (lower is better), as in `raekit.bo.bayesian`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from raekit.bo.bayesian import BOResult
from raekit.errors import RaekitError, unknown

WORST_SCOPES = ("run", "all")  # where the worst score left out of averages is taken


def run_average(result: BOResult, worst: float) -> float:
    """GrammarVAE's average of one run: the mean score of its valid proposals strictly better
    than ``worst`` (so a valid proposal as bad as the worst is left out too); NaN if none."""
    scores = np.array([s for _, s in result.valid_pairs()], dtype=np.float64)
    better = scores[scores < worst]
    return float(better.mean()) if len(better) else float("nan")


def best_of_runs(
    results: Sequence[BOResult], k: int = 3, same: Callable[[Any], Hashable] | None = None
) -> list[list]:
    """GrammarVAE's top ``k``: the best valid proposal of each run, the ``k`` best of those,
    leaving out a score equal to one already taken and an item ``same`` as one already taken
    (the same canonical molecule, the same function)."""
    same = same or (lambda item: item)
    bests = []
    for r in results:
        pairs = r.valid_pairs()
        if pairs:
            bests.append(min(pairs, key=lambda p: p[1]))
    top, scores, keys = [], set(), set()
    for item, score in sorted(bests, key=lambda p: p[1]):
        key = same(item)
        if score in scores or key in keys:
            continue
        top.append([str(item), float(score)])
        scores.add(score)
        keys.add(key)
        if len(top) == k:
            break
    return top


def best_so_far(result: BOResult) -> list[float | None]:
    """The best valid score found up to each iteration (None before the first valid one)."""
    curve, best = [], np.inf
    for r in result.rounds:
        valid = np.asarray(r["scores"], dtype=np.float64)[np.asarray(r["valid"], dtype=bool)]
        best = min(best, float(valid.min())) if len(valid) else best
        curve.append(None if np.isinf(best) else best)
    return curve


def _spread(values: np.ndarray) -> tuple[float, float]:
    """(sample std, GrammarVAE's ±: the population std over runs / sqrt(runs)); 0 for one run."""
    if len(values) < 2:
        return 0.0, 0.0
    return float(values.std(ddof=1)), float(values.std() / np.sqrt(len(values)))


def summarise_runs(
    results: Sequence[BOResult],
    top: int = 3,
    worst_over: str = "run",
    same: Callable[[Any], Hashable] | None = None,
) -> dict[str, Any]:
    """Figure 2's row: the mean fraction valid; per run the average of the valid scores better
    than the worst score, taken over that run (``worst_over="run"``, molecules) or over all runs
    (``"all"``, expressions), then their mean over the runs that have one; their sample std
    and GrammarVAE's ± (``se``); which runs had no average (``seeds_without_score``, by index);
    GrammarVAE's top ``top`` (`best_of_runs`); each run's best-so-far curve.
    ``mean_valid_score`` is the plain mean over valid proposals."""
    if not results:
        raise RaekitError("no BO runs to summarise")
    if worst_over not in WORST_SCOPES:
        raise unknown("worst-score scope", worst_over, WORST_SCOPES)
    worsts = [float(r.observed().max(initial=-np.inf)) for r in results]
    if worst_over == "all":
        worsts = [max(worsts)] * len(results)
    averages = np.array([run_average(r, w) for r, w in zip(results, worsts)])
    scored = averages[~np.isnan(averages)]
    fractions = np.array([r.fraction_valid for r in results])
    valid_means = np.array([r.mean_valid_score for r in results])
    valid_means = valid_means[~np.isnan(valid_means)]
    fraction_std, fraction_se = _spread(fractions)
    score_std, score_se = _spread(scored)
    return {
        "runs": len(results),
        "fraction_valid": float(fractions.mean()),
        "fraction_valid_std": fraction_std,
        "fraction_valid_se": fraction_se,
        "mean_score": float(scored.mean()) if len(scored) else None,
        "std_score": score_std,
        "se_score": score_se,
        "score_seeds": int(len(scored)),
        "seeds_without_score": [int(i) for i in np.flatnonzero(np.isnan(averages))],
        "mean_valid_score": float(valid_means.mean()) if len(valid_means) else None,
        "top": best_of_runs(results, top, same),
        "best_so_far": [best_so_far(r) for r in results],
    }
