"""results.json of a reproduction: every model's per-seed evaluation and their aggregates.

Layout (format 2):
  {"format": 2, "dataset", "preset", "features", "extractor", "n", "n_reference", "seeds", "command",
   "runs": {model: {seed (str): compact eval result + "train_seconds", "epochs"}},
   "aggregate": {model: {"seeds", "columns", "fid": {kind: STAT}, "prd": {kind: {"f8": STAT, "f1_8": STAT}}}},
   "claims": [...]}  (raekit.paper.claims.check_claims of the rest)
STAT = {"mean", "std", "n", "values"}; std is the sample standard deviation (ddof=1) over seeds, None
for a single seed (one seed measures no spread). PRD curves stay in each run's eval.json.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from raekit.errors import RaekitError

FORMAT = 2
RESULTS_FILE = "results.json"
META_KEYS = ("dataset", "preset", "features", "extractor", "n", "n_reference")


def stat(values: list[float]) -> dict[str, Any]:
    """Mean, sample standard deviation (None for one value), count and the values themselves."""
    values = [float(v) for v in values]
    mean = sum(values) / len(values)
    std = (
        math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
        if len(values) > 1
        else None
    )
    return {"mean": mean, "std": std, "n": len(values), "values": values}


def compact(result: dict[str, Any], run_rel: str | None = None) -> dict[str, Any]:
    """An eval result without PRD curves, its run path relative to the reproduction folder."""
    out = {k: v for k, v in result.items() if k != "prd"}
    out["prd"] = {
        kind: {"f8": p["f8"], "f1_8": p["f1_8"]} for kind, p in result.get("prd", {}).items()
    }
    if run_rel is not None:
        out["run"] = run_rel
    return out


def aggregate(runs: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per model: the seeds present and a STAT for every FID and PRD number they share."""
    summary = {}
    for model, by_seed in runs.items():
        seeds = sorted(by_seed, key=int)
        if not seeds:
            continue
        results = [by_seed[s] for s in seeds]
        fid_kinds = [
            k for k in results[0]["fid"] if all(r["fid"].get(k) is not None for r in results)
        ]
        prd_kinds = [
            k for k in results[0].get("prd", {}) if all(k in r.get("prd", {}) for r in results)
        ]
        summary[model] = {
            "seeds": [int(s) for s in seeds],
            "columns": results[0]["columns"],
            "fid": {k: stat([r["fid"][k] for r in results]) for k in fid_kinds},
            "prd": {
                k: {m: stat([r["prd"][k][m] for r in results]) for m in ("f8", "f1_8")}
                for k in prd_kinds
            },
        }
    return summary


def column(summary: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The STAT of a Table 1 column of one model's aggregate: "REC", "N", "GMM" or "Interp"."""
    kind = {"REC": "rec", "Interp": "interp"}.get(name) or summary["columns"].get(name)
    return summary["fid"].get(kind) if kind else None


def prd_column(summary: dict[str, Any], name: str, metric: str) -> dict[str, Any] | None:
    """The STAT of PRD `metric` ("f8" or "f1_8") of Table 2's column "N" or "GMM"."""
    kind = summary["columns"].get(name)
    return summary["prd"].get(kind, {}).get(metric) if kind else None


def build(meta: dict[str, Any], runs: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """results.json's content but the claims (raekit.paper.claims adds them: they are computed from this)."""
    return {"format": FORMAT, **meta, "runs": runs, "aggregate": aggregate(runs)}


def read_results(path: str | Path) -> dict[str, Any]:
    """A results.json (a reproduction folder or the file itself) of this format."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise RaekitError(f"{path} does not exist; run `raekit reproduce` first") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RaekitError(f"{path} is not valid JSON") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RaekitError(
            f"{path} does not hold a raekit reproduction (results.json format {FORMAT})"
        )
    return data
