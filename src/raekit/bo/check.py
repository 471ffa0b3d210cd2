"""What a sequence model has learned, and where BO went: greedy reconstruction of held-out
strings, decodings of an ex-post Gaussian on the training codes, and the BO proposals'
distance from the codes. A BO table means little when the model cannot reconstruct, or when
its proposals lie far outside the codes (there the decoder may emit trivially valid strings)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from raekit.bo.measures import check_counts, grammarvae_measures
from raekit.bo.optimise import SEED_DIR
from raekit.bo.symbols import symbol_measures
from raekit.density import fit_density
from raekit.errors import RaekitError
from raekit.generation import encode_images
from raekit.generation.densities import model_fingerprint
from raekit.grammar.sequence_task import sequence_task
from raekit.grammar.task import decode_strings
from raekit.io.jsonio import read_json_object, write_json
from raekit.runs import Run

CHECK_FILE = "check.json"


def code_distance(codes: np.ndarray):
    """points -> each point's distance from the codes' mean, in the metric of their covariance
    (fitted once, measured for any number of point sets)."""
    # slow to import; only this path needs it
    from sklearn.covariance import EmpiricalCovariance

    fitted = EmpiricalCovariance().fit(codes)
    return lambda points: np.sqrt(fitted.mahalanobis(points))


def mahalanobis(codes: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Distance of each point from the codes' mean, in the metric of their covariance."""
    return code_distance(codes)(points)


def bo_proposals(run_dir: Path) -> tuple[np.ndarray, list[str | None]]:
    """Every proposal of the run's BO seeds: points (N, d) and decoded items (None: invalid)."""

    points, items = [], []
    for path in sorted((run_dir / SEED_DIR).glob("seed*.json")):
        record = read_json_object(path)
        for r in (record or {}).get("result", {}).get("rounds", []):
            points += r["points"]
            items += r["items"]
    return np.asarray(points, dtype=np.float64), items


def _strings_summary(strings: list[str | None], valid) -> dict:
    ok = [s for s in strings if s is not None and valid(s)]
    return {
        "n": len(strings),
        "fraction_valid": len(ok) / len(strings) if strings else float("nan"),
        "mean_length": float(np.mean([len(s) for s in ok])) if ok else None,
    }


def check_run(
    run: Run,
    n: int = 500,
    seed: int = 0,
    reuse: bool = False,
    counts: dict[str, int] | None = None,
) -> dict:
    """The check of one trained expressions/molecules run; written to RUN/check.json. With
    ``reuse``, an earlier check of the same weights, settings and BO proposals is returned.
    ``counts`` sets GrammarVAE's measures (`raekit.bo.measures`; default its own counts).
    `run`: a Run, or a run directory made one with Run.of."""
    if n < 1:
        raise RaekitError(f"--n must be at least 1, got {n}")
    run = Run.of(run)
    run_dir, config = run.directory, run.config
    if config.image_shape is not None:
        raise RaekitError(f"{run_dir} is an image model; the check is for sequence models")
    model = run.model
    points, items = bo_proposals(run_dir)
    counts = check_counts(counts or {})
    settings = {"weights": model_fingerprint(model), "n": n, "seed": seed, "proposals": len(items)}
    settings["measures"] = counts
    earlier = read_json_object(run_dir / CHECK_FILE) if reuse else None
    if earlier and earlier.get("settings") == settings:
        return earlier
    data = run.data
    valid = sequence_task(config.dataset).objective(data.strings["train"]).valid
    train = encode_images(model, data.train, desc=None)
    test = encode_images(model, data.test[:n], desc=None)
    truth = data.strings["test"][:n]
    rebuilt = decode_strings(model, test)
    gaussian, _ = fit_density(train, "gaussian")
    draws = gaussian.sample(n, seed=seed)
    distance = code_distance(train)
    report = {
        "settings": settings,
        "task": config.dataset,
        "model": config.model,
        "data": {
            "n": len(data.strings["train"]),
            "mean_length": float(np.mean([len(s) for s in data.strings["train"]])),
        },
        "reconstruction": {
            "exact": float(np.mean([a == b for a, b in zip(rebuilt, truth)])),
            **_strings_summary(rebuilt, valid),
            **symbol_measures(model, data.test[:n], test),
        },
        "gaussian_samples": _strings_summary(decode_strings(model, draws), valid),
        "distance": {"test_codes": float(np.median(distance(test)))},
    }
    if len(points):
        report["bo_proposals"] = _strings_summary(items, valid)
        report["distance"]["bo_proposals"] = float(np.median(distance(points)))
    report["distance"]["gaussian_samples"] = float(np.median(distance(draws)))
    report["grammarvae_measures"] = grammarvae_measures(model, data, train, valid, counts, n, seed)
    write_json(run_dir / CHECK_FILE, report)
    return report


def summary_line(report: dict) -> str:
    """One line for the terminal."""
    rec, dist = report["reconstruction"], report["distance"]
    symbols = rec.get("symbol_accuracy")
    line = (
        f"{report['model']} on {report['task']}: greedy reconstruction {rec['exact']:.3f} exact, "
        f"{rec['fraction_valid']:.3f} valid"
        + ("" if symbols is None else f", per-symbol accuracy {symbols:.3f}")
        + "; Gaussian samples "
        f"{report['gaussian_samples']['fraction_valid']:.3f} valid; median Mahalanobis distance "
        f"from the training codes: test codes {dist['test_codes']:.1f}"
    )
    measures = report.get("grammarvae_measures") or {}
    if measures.get("reconstruction"):
        line += (
            f"; GrammarVAE's reconstruction accuracy {measures['reconstruction']['accuracy']:.3f}"
        )
    if measures.get("prior_validity"):
        prior = measures["prior_validity"]
        line += f", prior validity {prior['fraction']:.3f} ({prior['prior']})"
    if "bo_proposals" in report:
        bo = report["bo_proposals"]
        line += (
            f", BO proposals {dist['bo_proposals']:.1f} ({bo['fraction_valid']:.3f} valid, "
            f"mean length {bo['mean_length'] or 0:.1f} vs {report['data']['mean_length']:.1f} "
            "in the data)"
        )
    return line
