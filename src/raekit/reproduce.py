"""Tables 1 and 2 in one call: train (or reuse) every model, fit densities, evaluate, report.

Everything is written under one folder and reused when present, so an interrupted reproduction
picks up where it stopped: finished runs and evaluations are kept, unfinished runs resume.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from raekit import runs
from raekit.atomic import atomic_write_text
from raekit.config import make_config
from raekit.paper_results import TABLE1, TABLE1_MODELS
from raekit.tables import density_table, table1, table2


def train_or_reuse(config, run_dir: Path, data=None) -> Path:
    """Train into run_dir; a finished run is reused and an unfinished one resumed."""
    from raekit.train import train
    run_dir = Path(run_dir)
    if (run_dir / runs.CONFIG_FILE).exists():
        done = runs.read_metrics(run_dir)
        saved = runs.read_config(run_dir)
        if done and int(done[-1]["epoch"]) >= saved.epochs and (run_dir / runs.WEIGHTS_FILE).exists():
            print(f"reusing {run_dir}", flush=True)
            return run_dir
        return train(saved, run_dir, resume=True, data=data)
    return train(config, run_dir, data=data)


def evaluate_or_reuse(run_dir: Path, features: str, n: int, densities: list[str] | None,
                      data=None) -> dict[str, Any]:
    from raekit.evaluate import evaluate_run, read_eval
    previous = read_eval(run_dir)
    wanted = densities or [previous["columns"]["N"], "gmm"] if previous else []
    if previous and previous.get("features") == features and previous["n"] == n \
            and all(d in previous["fid"] for d in wanted) and "valid_loglik" in previous:
        print(f"reusing {run_dir / 'eval.json'}", flush=True)
        return previous
    return evaluate_run(run_dir, features=features, n=n, densities=densities, data=data)


def reproduce(dataset: str, preset: str, out: str | Path, models=TABLE1_MODELS,
              features: str = "classifier", n: int = 10_000, densities: list[str] | None = None,
              figures: bool = True, data=None) -> dict[str, Any]:
    """Train, evaluate and tabulate `models`; returns the results dict (also results.json)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for model in models:
        print(f"== {model} on {dataset} ({preset} preset) ==", flush=True)
        run_dir = train_or_reuse(make_config(dataset, model, preset), out / model, data=data)
        results[model] = evaluate_or_reuse(run_dir, features, n, densities, data=data)
    atomic_write_text(out / "results.json", json.dumps(results, indent=2))
    show_paper = preset == "paper" and dataset in TABLE1
    paper = dataset if show_paper else None
    tables = [table1(results, paper), table2(results, paper), density_table(results)]
    atomic_write_text(out / "table1.md", tables[0].markdown() + "\n" + tables[2].markdown())
    atomic_write_text(out / "table2.md", tables[1].markdown())
    if figures:
        from raekit.report import write_report
        path = write_report(out, results, tables, paper, data=data)
        print(f"report: {path}")
    return results
