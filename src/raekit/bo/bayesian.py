"""Bayesian optimisation in a latent space (paper Section 6.2, Figure 2).

Generic over models: everything works on arrays of latent codes and a caller-supplied
``decode_and_score`` callable. Convention: **lower scores are better** (expressions use the
log(1 + MSE) score directly; for molecules the caller passes the negated penalised logP).
The GP models the scores as given; expected improvement is taken on the negated scores.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from raekit.bo.acquisition import propose_batch
from raekit.bo.gp import codes_and_scores, evaluate_gp, fit_gp, training_size
from raekit.errors import RaekitError, unknown

INVALID_POLICIES = ("skip", "worst")


def most_frequent_valid(
    decodings: Sequence[Sequence[str]], is_valid: Callable[[str], bool]
) -> list[str | None]:
    """Per point, the most frequent valid decoding (ties: first seen), or None if none is valid."""
    verdict: dict[str, bool] = {}  # validity checks (e.g. RDKit parsing) can be slow: once each

    def valid(candidate: str | None) -> bool:
        if candidate is None:
            return False
        if candidate not in verdict:
            verdict[candidate] = bool(is_valid(candidate))
        return verdict[candidate]

    out: list[str | None] = []
    for candidates in decodings:
        counts = Counter(c for c in candidates if valid(c))
        out.append(counts.most_common(1)[0][0] if counts else None)
    return out


def _unique_top(items: Sequence, scores: Sequence[float], k: int) -> list[tuple[Any, float]]:
    """Best ``k`` distinct items by ascending score (each item at its best score)."""
    best: dict[Any, float] = {}
    for item, score in zip(items, scores):
        if item not in best or score < best[item]:
            best[item] = float(score)
    return sorted(best.items(), key=lambda kv: kv[1])[:k]


@dataclass
class BOResult:
    """Everything one BO run proposed. ``rounds[i]`` holds iteration i's ``points`` (q, d),
    decoded ``items``, ``scores`` (NaN where invalid) and ``valid`` mask."""

    rounds: list[dict[str, Any]] = field(default_factory=list)
    gp_metrics: dict[str, float] = field(default_factory=dict)
    # held-out RMSE / log-likelihood of the GP that chose each iteration's batch
    gp_history: list[dict[str, float]] = field(default_factory=list)
    invalid_score: float = float("nan")  # what an invalid proposal scored for the GP
    seconds: float | None = None  # wall time of the whole run, GP fits included

    def observed(self) -> np.ndarray:
        """Every proposal's score as GrammarVAE records it: invalid ones at ``invalid_score``."""
        scores = np.asarray(self._flat("scores"), dtype=np.float64)
        return np.where(np.asarray(self._flat("valid"), dtype=bool), scores, self.invalid_score)

    def _flat(self, key: str) -> list:
        return [v for r in self.rounds for v in r[key]]

    @property
    def fraction_valid(self) -> float:
        valid = self._flat("valid")
        return float(np.mean(valid)) if valid else float("nan")

    @property
    def mean_valid_score(self) -> float:
        """Mean score of the valid proposals (NaN when none was valid)."""
        scores = [s for s, v in zip(self._flat("scores"), self._flat("valid")) if v]
        return float(np.mean(scores)) if scores else float("nan")

    def valid_pairs(self) -> list[tuple[Any, float]]:
        """(item, score) of every valid proposal, in proposal order."""
        return [
            (i, float(s))
            for i, s, v in zip(self._flat("items"), self._flat("scores"), self._flat("valid"))
            if v
        ]

    def top(self, k: int = 3) -> list[tuple[Any, float]]:
        """Best ``k`` distinct valid items with their scores, best (lowest) first."""
        pairs = self.valid_pairs()
        return _unique_top([p[0] for p in pairs], [p[1] for p in pairs], k)

    def to_dict(self, k: int = 3) -> dict[str, Any]:
        """JSON-able summary: metrics plus every proposal (invalid scores become null)."""

        def clean(r: dict[str, Any]) -> dict[str, Any]:
            return {
                "points": np.asarray(r["points"]).tolist(),
                "items": [str(i) if v else None for i, v in zip(r["items"], r["valid"])],
                "scores": [float(s) if v else None for s, v in zip(r["scores"], r["valid"])],
                "valid": [bool(v) for v in r["valid"]],
            }

        def nan_to_none(x):
            return None if np.isnan(x) else x

        return {
            "invalid_score": nan_to_none(self.invalid_score),
            "fraction_valid": nan_to_none(self.fraction_valid),
            "mean_valid_score": nan_to_none(self.mean_valid_score),
            "top": [[str(i), s] for i, s in self.top(k)],
            "gp_metrics": dict(self.gp_metrics),
            "gp_history": [dict(m) for m in self.gp_history],
            "seconds": self.seconds,
            "rounds": [clean(r) for r in self.rounds],
        }


def result_from_dict(record: dict[str, Any]) -> BOResult:
    """The BOResult that ``BOResult.to_dict`` wrote (invalid items and scores come back as None
    and NaN)."""
    rounds = [
        {
            "points": np.asarray(r["points"], dtype=np.float64),
            "items": list(r["items"]),
            "scores": np.array([np.nan if s is None else s for s in r["scores"]], dtype=np.float64),
            "valid": np.asarray(r["valid"], dtype=bool),
        }
        for r in record["rounds"]
    ]
    fill = record.get("invalid_score")
    return BOResult(
        rounds,
        dict(record["gp_metrics"]),
        [dict(m) for m in record.get("gp_history", [])],
        np.nan if fill is None else float(fill),
        record.get("seconds"),
    )


def _call_decoder(decode_and_score: Callable, points: np.ndarray):
    items, scores, valid = decode_and_score(points)
    scores, valid = np.asarray(scores, dtype=np.float64), np.asarray(valid, dtype=bool)
    if not (len(items) == len(scores) == len(valid) == len(points)):
        raise RaekitError(
            f"decode_and_score returned {len(items)} items, {len(scores)} scores and "
            f"{len(valid)} flags for {len(points)} points"
        )
    valid = valid & np.isfinite(scores)  # a NaN score cannot guide the GP
    return list(items), np.where(valid, scores, np.nan), valid


def _held_out(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(test, train) indices: a seeded 10% held out to measure the GP, the rest to fit it."""
    perm = np.random.default_rng(seed).permutation(n)
    return perm[: n // 10], perm[n // 10 :]


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _say_iteration(it: int, iterations: int, got, valid, sign: float, spent: float) -> None:
    """One progress line: valid proposals, the best score (times `sign`), time left."""
    best = f"{sign * np.nanmin(got):.4g}" if valid.any() else "-"
    left = spent / (it + 1) * (iterations - it - 1)
    _say(
        f"BO iteration {it + 1}/{iterations}: {int(valid.sum())}/{len(valid)} valid, "
        f"best {best} ({spent:.0f} s so far, ~{left:.0f} s left)"
    )


def bayesian_optimisation(
    codes,
    scores,
    decode_and_score: Callable[[np.ndarray], tuple],
    iterations: int = 5,
    batch: int = 50,
    seed: int = 0,
    gp: str = "sparse",
    invalid: str = "worst",
    invalid_score: float | None = None,
    progress: bool = True,
    sign: float = 1.0,
    **gp_kwargs: Any,
) -> BOResult:
    """GrammarVAE-style batch BO over latent ``codes`` (n, d) with ``scores`` (n,), lower better.

    A random 10% split is held out to report the GP's test RMSE / log-likelihood; the other 90%
    seed the GP. Each iteration proposes ``batch`` points by GrammarVAE's greedy
    kriging-believer EI (``raekit.bo.acquisition``) within the per-dimension min/max of the
    training codes, calls ``decode_and_score(points) -> (items, scores, valid)``
    and refits the GP with the new observations. ``invalid="worst"`` (default, GrammarVAE's
    rule) adds every proposal to the GP's data, an invalid one with ``invalid_score`` (default:
    the worst of ``scores``), so the GP learns to avoid regions that decode badly; ``"skip"``
    records invalid points but keeps them out of the GP. The progress line shows scores
    multiplied by ``sign`` (-1 where the caller minimises a negated objective).
    """
    if invalid not in INVALID_POLICIES:
        raise unknown("invalid-point policy", invalid, INVALID_POLICIES)
    began = time.perf_counter()
    x, y = codes_and_scores(codes, scores, 10, "BO's 90/10 split")
    fill = float(y.max()) if invalid_score is None else float(invalid_score)
    test, train = _held_out(len(x), seed)
    train_x, train_y = x[train], y[train]
    bounds = np.stack([train_x.min(0), train_x.max(0)])
    if progress:
        used = training_size(gp, len(train_x), gp_kwargs.get("max_train"))
        _say(
            f"BO: fitting the {gp} GP on {used} of {len(train_x)} codes, then {iterations} x {batch}"
        )
    model = fit_gp(train_x, train_y, kind=gp, seed=seed, **gp_kwargs)
    result = BOResult(gp_metrics=evaluate_gp(model, x[test], y[test]), invalid_score=fill)
    acquired, started = 0, time.perf_counter()
    for it in range(iterations):
        fitted = evaluate_gp(model, x[test], y[test]) if it else dict(result.gp_metrics)
        result.gp_history.append(fitted)
        points = propose_batch(model, bounds, q=batch, seed=seed * 1009 + it).numpy()
        items, got, valid = _call_decoder(decode_and_score, points)
        result.rounds.append({"points": points, "items": items, "scores": got, "valid": valid})
        add = valid if invalid == "skip" else np.ones_like(valid)
        new_y = np.where(valid, got, fill)[add]
        train_x, train_y = np.concatenate([train_x, points[add]]), np.concatenate([train_y, new_y])
        acquired += int(add.sum())
        if progress:
            _say_iteration(it, iterations, got, valid, sign, time.perf_counter() - started)
        if it + 1 < iterations and add.any():
            model = fit_gp(
                train_x, train_y, kind=gp, seed=seed + it + 1, keep_last=acquired, **gp_kwargs
            )
    result.seconds = time.perf_counter() - began
    return result
