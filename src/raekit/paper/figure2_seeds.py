"""Figure 2 over several trained models per type (training seeds).

Each trained model has its own run folder (``gvae`` for training seed 0, ``gvae-seed1``,
``gvae-seed2`` ...), its own BO (``bo.json``) and its own `raekit grammar-check`. A model type's
Figure 2 row combines them: each trained model contributes the mean of its BO seeds, and the
spread (sample std, and GrammarVAE's std / sqrt(n)) is taken over the trained models, so the ±
covers training as well as BO. With one training seed the row is that model's BO row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from raekit.errors import RaekitError
from raekit.grammar.sequence_task import sequence_task
from raekit.paper.figure2_tables import distinct_top

# Row fields that are the same for every trained model of a type (BO's protocol, the data).
SHARED = (
    "model",
    "task",
    "iterations",
    "batch",
    "seeds",
    "gp",
    "gp_training",
    "acquisition",
    "invalid",
    "validity",
    "average",
    "top_rule",
    "data_scores",
    "score_stats",
    "standardisation",
)


def run_name(model: str, seed: int) -> str:
    """The run folder of ``model`` trained with ``seed``: the bare name for seed 0 (the layout
    of a single-seed reproduction), ``MODEL-seedK`` otherwise."""
    return model if seed == 0 else f"{model}-seed{seed}"


def _spread(values: list[float]) -> tuple[float, float]:
    """(sample std, population std / sqrt(n)); zeros for fewer than two values."""
    array = np.asarray(values, dtype=np.float64)
    if len(array) < 2:
        return 0.0, 0.0
    return float(array.std(ddof=1)), float(array.std() / np.sqrt(len(array)))


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def combined_top(task: str, rows: list[dict], k: int = 3) -> list[list]:
    """GrammarVAE's top ``k`` over every trained model's BO: the best proposal of each BO run
    (each row's top lists its runs' bests), distinct items and scores, best first."""
    pooled = [pair for r in rows for pair in r.get("top") or []]
    pooled.sort(key=lambda p: p[1], reverse=not sequence_task(task).lower_is_better)
    return distinct_top(task, pooled)[:k]


def combine_rows(task: str, names: list[str], rows: list[dict]) -> dict[str, Any]:
    """One Figure 2 row from the BO rows of several trained models of one type (``names``:
    their run folders, in training-seed order)."""
    if not rows or len(names) != len(rows):
        raise RaekitError("combine_rows needs one BO row per trained model")
    if len(rows) == 1:
        return {**rows[0], "runs": list(names), "training_seeds": 1}
    fractions = [r["fraction_valid"] for r in rows]
    scores = [r.get("mean_score") for r in rows]
    scored = [s for s in scores if s is not None]
    fraction_std, fraction_se = _spread(fractions)
    score_std, score_se = _spread(scored)
    novel = [r.get("novel_fraction") for r in rows]
    seconds = [r.get("bo_seconds") for r in rows]
    return {
        **{key: rows[0].get(key) for key in SHARED},
        "runs": list(names),
        "training_seeds": len(rows),
        "fraction_valid": float(np.mean(fractions)),
        "fraction_valid_std": fraction_std,
        "fraction_valid_se": fraction_se,
        "mean_score": _mean(scores),
        "std_score": score_std,
        "se_score": score_se,
        "score_seeds": len(scored),
        "seeds_without_score": [i for i, s in enumerate(scores) if s is None],
        "mean_valid_score": _mean([r.get("mean_valid_score") for r in rows]),
        "top": combined_top(task, rows),
        "best_so_far": [c for r in rows for c in r.get("best_so_far") or []],
        "novel_fraction": _mean(novel),
        "gp_metrics": [m for r in rows for m in r.get("gp_metrics") or []],
        "gp_history": [h for r in rows for h in r.get("gp_history") or []],
        "bo_seconds": None if None in seconds else float(sum(seconds)),
    }


def combined_learning(seen: list[dict | None]) -> dict[str, Any] | None:
    """What the trained models of one type learned, for the verdict: the worst of them (the
    least exact reconstruction, the BO proposals farthest out relative to the test codes), so a
    claim is tested only when every trained model learned; None when any has no check."""
    if not seen or any(s is None for s in seen):
        return None
    if len(seen) == 1:
        return seen[0]

    def ratio(s: dict) -> float:
        test, bo = s.get("test_code_distance"), s.get("bo_distance")
        return bo / test if test and bo is not None else 0.0

    least = min(seen, key=lambda s: s["reconstruction_exact"])
    farthest = max(seen, key=ratio)
    return {
        "reconstruction_exact": least["reconstruction_exact"],
        "reconstruction_measure": f"{least['reconstruction_measure']}, the least of "
        f"{len(seen)} trained models",
        "test_code_distance": farthest.get("test_code_distance"),
        "bo_distance": farthest.get("bo_distance"),
        "per_model": seen,
    }
