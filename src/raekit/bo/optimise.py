"""Bayesian optimisation in a trained sequence model's latent space (Section 6.2, Figure 2).

Scores are minimised: expressions by log(1 + MSE) to the target, molecules by the negated
penalised logP (reported with the paper's sign, higher better). Each proposed point is decoded
several times by sampled masked decoding and the most frequent valid decoding is kept.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from raekit.bo.acquisition import ACQUISITION
from raekit.bo.bayesian import bayesian_optimisation, most_frequent_valid, result_from_dict
from raekit.bo.gp import describe_training
from raekit.bo.summary import summarise_runs
from raekit.errors import RaekitError
from raekit.generation import encode_images
from raekit.generation.densities import model_fingerprint
from raekit.grammar.sequence_task import Objective, sequence_task
from raekit.grammar.task import decode_draws
from raekit.io.jsonio import read_json_object, write_json
from raekit.runs import Run

SEED_DIR = "bo-seeds"  # one finished BO seed per file


def _total_seconds(runs) -> float | None:
    """Wall time of all seeds (None when a seed has no recorded time)."""
    seconds = [r.seconds for r in runs]
    return None if any(t is None for t in seconds) else float(sum(seconds))


def _signed(value: float | None, sign: float) -> float | None:
    return None if value is None else sign * value


def decoder_for(model, task: str, objective_: Objective, draws: int, seed: int):
    """decode_and_score(points) -> (items, scores, valid) for the BO loop."""
    calls = iter(range(1 << 30))  # each BO iteration samples with fresh random numbers

    def decode_and_score(points: np.ndarray):
        per_point = decode_draws(model, points, draws, seed=seed * 100_003 + next(calls))
        items = most_frequent_valid(per_point, objective_.valid)
        valid = np.array([item is not None for item in items])
        values = np.array(
            [objective_.score(item) if item is not None else np.nan for item in items]
        )
        return items, values, valid

    return decode_and_score


def data_scores(values: np.ndarray, sign: float) -> dict[str, float]:
    """The data's own scores (minimised ``values``) shown with ``sign``: the best, the best 1%
    boundary and the median, for comparison with BO's proposals."""
    best, one, half = np.quantile(values[np.isfinite(values)], [0.0, 0.01, 0.5])
    return {"best": sign * best, "top_1pct": sign * one, "median": sign * half}


def novel_fraction(runs, known: set, key) -> float | None:
    """Fraction of the valid proposals (all seeds) whose ``key`` is not among ``known``."""
    items = [item for r in runs for item, _ in r.valid_pairs()]
    return float(np.mean([key(i) not in known for i in items])) if items else None


def check_bo_options(
    iterations: int = 5,
    batch: int = 50,
    seeds: int = 5,
    draws: int | None = None,
    max_codes: int | None = None,
    gp: str = "sparse",
    **_other,
) -> None:
    """Refuse BO settings that cannot run, before any work: every count at least 1."""
    counts = {
        "iterations": iterations,
        "batch": batch,
        "seeds": seeds,
        "draws": draws,
        "max-codes": max_codes,
    }
    for name, value in counts.items():
        if value is not None and value < 1:
            raise RaekitError(f"--{name} must be at least 1, got {value}")
    if gp not in ("exact", "sparse"):
        raise RaekitError(f"unknown GP {gp!r} (choices: exact, sparse)")


def _seed_run(run_dir: Path, seed: int, protocol: dict, run: Callable):
    """One seed's BO, kept in RUN/bo-seeds/seed<k>.json as soon as it finishes: a later call
    with the same protocol and weights reuses it, so a long BO can be completed in parts."""
    path = run_dir / SEED_DIR / f"seed{seed}.json"
    cached = read_json_object(path)
    if cached is not None and cached.get("protocol") == protocol:
        try:
            result = result_from_dict(cached["result"])
        except (KeyError, TypeError, ValueError):
            cached = None
        else:
            print(f"BO: reusing seed {seed} from {path}", file=sys.stderr, flush=True)
            return result
    if path.exists():
        why = "damaged" if cached is None else "from other settings or weights"
        print(f"BO: {path} is {why}; running seed {seed} again", file=sys.stderr, flush=True)
    result = run(seed)
    path.parent.mkdir(exist_ok=True)
    write_json(path, {"protocol": protocol, "result": result.to_dict()})
    return result


@dataclass
class StartingPoints:
    """The codes BO starts from, their scores, the objective, and the training strings."""

    codes: np.ndarray
    values: np.ndarray  # finite scores only
    all_values: np.ndarray
    target: Objective
    train_strings: list[str]
    task: str


def _starting_points(run: Run, max_codes: int | None, standardise: str) -> StartingPoints:
    """The task's sequences (at most max_codes), encoded and scored."""
    model, config, data = run.model, run.config, run.data
    indices = np.concatenate([data.train, data.valid, data.test])
    strings = data.strings["train"] + data.strings["valid"] + data.strings["test"]
    if max_codes:
        indices, strings = indices[:max_codes], strings[:max_codes]
    target = sequence_task(config.dataset).objective(strings, standardise)
    codes = encode_images(model, indices)
    values = np.array([target.score(s) for s in strings])
    finite = np.isfinite(values)
    return StartingPoints(
        codes[finite], values[finite], values, target, data.strings["train"], config.dataset
    )


def _figure2_row(runs, start: StartingPoints, protocol: dict) -> dict:
    """bo.json's Figure 2 row of finished seeds (scores with the paper's sign)."""
    task, sign, gp = sequence_task(start.task), start.target.sign, protocol["gp"]
    summary = summarise_runs(runs, worst_over=task.worst_over, same=task.same)
    known = {task.known(s) for s in start.train_strings}
    finite = len(start.values)
    return {
        "iterations": protocol["iterations"],
        "batch": protocol["batch"],
        "gp": gp,
        "gp_training": describe_training(gp, finite - finite // 10),
        "acquisition": ACQUISITION,
        "invalid": protocol["invalid"],
        "validity": task.validity,
        **{k: summary[k] for k in ("fraction_valid", "fraction_valid_std", "fraction_valid_se")},
        "mean_score": _signed(summary["mean_score"], sign),
        **{k: summary[k] for k in ("std_score", "se_score", "score_seeds", "seeds_without_score")},
        "average": task.average_rule,
        "mean_valid_score": _signed(summary["mean_valid_score"], sign),
        "top": [[item, sign * score] for item, score in summary["top"]],
        "top_rule": "grammarvae (best of each seed, distinct items and scores)",
        "best_so_far": [[_signed(v, sign) for v in c] for c in summary["best_so_far"]],
        "novel_fraction": novel_fraction(runs, known, task.known),
        "data_scores": data_scores(start.all_values, sign),
        "gp_metrics": [r.gp_metrics for r in runs],
        "gp_history": [r.gp_history for r in runs],
        "bo_seconds": _total_seconds(runs),
        "score_stats": start.target.stats,
        "standardisation": protocol["standardisation"],
    }


def _protocol(name, model, iterations, batch, draws, gp, max_codes, invalid, standardise) -> dict:
    """What a BO seed's result depends on: a finished seed is reused only under the same."""
    task = sequence_task(name)
    return {
        "iterations": iterations,
        "batch": batch,
        "draws": draws or task.draws,
        "gp": gp,
        "acquisition": ACQUISITION,
        "max_codes": max_codes,
        "invalid": invalid,
        "validity": task.validity,
        "exact_gp_keeps_best": gp == "exact",  # the subsample holds the best-scoring codes
        "standardisation": standardise if task.standardised else None,
        "model": model_fingerprint(model),
    }


def run_bo(
    run: Run,
    iterations: int = 5,
    batch: int = 50,
    seeds: int = 5,
    draws: int | None = None,
    gp: str = "sparse",
    max_codes: int | None = None,
    invalid: str = "worst",
    standardise: str = "zinc250k",
) -> dict:
    """BO with several seeds on a trained run (a Run, or a run directory made one with Run.of);
    returns the Figure 2 row (and writes RUN/bo.json). Seeds finished by an earlier call with
    the same settings and weights are reused."""
    check_bo_options(
        iterations=iterations, batch=batch, seeds=seeds, draws=draws, gp=gp, max_codes=max_codes
    )
    run = Run.of(run)
    run_dir, config = run.directory, run.config
    if config.image_shape is not None:
        raise RaekitError(
            f"{run_dir} is an image model; BO runs on expressions or molecules models"
        )
    model = run.model
    start = _starting_points(run, max_codes, standardise)
    task = config.dataset
    protocol = _protocol(task, model, iterations, batch, draws, gp, max_codes, invalid, standardise)

    def one_seed(seed: int):
        return bayesian_optimisation(
            start.codes,
            start.values,
            decoder_for(model, task, start.target, protocol["draws"], seed),
            iterations=iterations,
            batch=batch,
            seed=seed,
            gp=gp,
            invalid=invalid,
            invalid_score=start.target.invalid_score,
            sign=start.target.sign,
        )

    runs = [_seed_run(Path(run_dir), seed, protocol, one_seed) for seed in range(seeds)]
    row = {
        "model": config.model,
        "task": task,
        "seeds": seeds,
        **_figure2_row(runs, start, protocol),
    }
    write_json(Path(run_dir) / "bo.json", row)
    return row
