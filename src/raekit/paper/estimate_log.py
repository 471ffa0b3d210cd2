"""Estimate against what happened: each `raekit reproduce` call appends its time estimate to
OUT/estimates.json and fills in, after every run, the seconds that run took to train and
evaluate, so the estimate can be checked (per run, per epoch and in all) once the work is done,
also when it was done in several calls (each call estimates only what is left)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from raekit.io.jsonio import write_json
from raekit.paper import reuse

LOG_FILE = "estimates.json"


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return entries if isinstance(entries, list) else []


class EstimateLog:
    """One reproduce call's entry in OUT/estimates.json, rewritten after every run."""

    def __init__(self, out: Path, found: dict[str, Any]):
        self.path = Path(out) / LOG_FILE
        self.started = time.perf_counter()
        self.entries = _read(self.path)
        planned = {p["run"]: p for p in found["runs"]}
        self.entry = {
            "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "threads": found["threads"],
            "estimate": {
                "train_seconds_at_max_epochs": round(found["train"], 1),
                "train_seconds_expected": round(found["train_expected"], 1),
                "expected_epochs": found["expected_epochs"],
                "evaluate_seconds": round(found["evaluate"], 1),
                "runs": planned,
            },
            "actual": {"runs": {}, "wall_seconds": 0.0},
        }
        self.entries.append(self.entry)
        write_json(self.path, self.entries)

    def record(self, job, epochs_before: int, train_seconds: float, eval_seconds: float) -> None:
        """What one run took in this call: epochs trained, seconds training and evaluating."""
        trained = reuse.trained_epochs(job.run_dir) - epochs_before
        self.entry["actual"]["runs"][str(job.run_dir)] = {
            "epochs_trained": trained,
            "train_seconds": round(train_seconds, 1),
            "seconds_per_epoch": round(train_seconds / trained, 2) if trained else None,
            "evaluate_seconds": round(eval_seconds, 1),
        }
        self.entry["actual"]["wall_seconds"] = round(time.perf_counter() - self.started, 1)
        write_json(self.path, self.entries)


def read_log(folder: Path) -> list[dict[str, Any]]:
    """The entries of FOLDER/estimates.json (none if it is missing or unreadable)."""
    return _read(Path(folder) / LOG_FILE)


def estimate_vs_actual(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per run a call finished: the epochs and training seconds the call estimated for
    it beside those it took (wall time, validation and checkpoints included), and their ratio."""
    rows = []
    for entry in entries:
        planned = entry["estimate"]["runs"]
        for run, actual in entry["actual"]["runs"].items():
            plan = planned.get(run)
            if plan is None or not actual["epochs_trained"]:
                continue
            estimate = plan["seconds_per_epoch"] * plan["epochs_expected"]
            rows.append(
                {
                    "run": "/".join(Path(run).parts[-2:]),
                    "started_utc": entry["started_utc"],
                    "epochs_estimated": plan["epochs_expected"],
                    "epochs_trained": actual["epochs_trained"],
                    "seconds_estimated": round(estimate),
                    "seconds_trained": round(actual["train_seconds"]),
                    "ratio": round(actual["train_seconds"] / estimate, 2),
                }
            )
    return rows
