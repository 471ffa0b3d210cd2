"""Learning curves of a reproduction: every model of one seed evaluated as of several epochs.

A run trained with `keep_epochs` holds the best weights as of each of those epochs
(RUN/kept/epoch-EEEE.safetensors): exactly what a run of E epochs would have ended with. Each
point is made a folder of runs that `raekit reproduce --only-trained` evaluates as it would a
reproduction of E epochs (config.yaml with `epochs: E`, the kept weights, metrics.csv up to E):
OUT/epoch-EEE/<model>/seed<k>/, and OUT/final/ for the runs as they ended. The 2-stage VAE takes
its first stage from the VAE of the same point, as in a reproduction. A run the early-stop rule
ended before E is taken as it ended. What each point was made from (file and SHA-256) is recorded.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import shutil
from pathlib import Path
from typing import Any

from raekit import runs
from raekit.errors import RaekitError
from raekit.io.atomic import atomic_write_bytes, atomic_write_text
from raekit.io.jsonio import write_json
from raekit.io.transfer import digest
from raekit.metrics.classifier import CLASSIFIER_DIR
from raekit.paper import reuse
from raekit.paper.claims import results_cells
from raekit.paper.first_stage import FIRST_STAGE_OF
from raekit.paper.orderings import COLUMNS, column_orderings
from raekit.paper.reproduce import reproduce
from raekit.paper.results_file import read_results
from raekit.plots import pyplot
from raekit.training.stopping import kept_weights

FINAL = "final"
SUMMARY_FILE = "learning_curves.json"


def point_name(epoch: int | None) -> str:
    return FINAL if epoch is None else f"epoch-{epoch:03d}"


def weights_as_of(run_dir: Path, epoch: int) -> Path | None:
    """The weights file holding `run_dir`'s best weights as of the end of `epoch`: its kept copy,
    or its final weights when training ended at or before `epoch`; None when the run has not
    reached `epoch` yet. A run that trained past `epoch` without keeping it is an error."""
    kept = kept_weights(run_dir, epoch)
    if kept.is_file():
        return kept
    stop = runs.stopped_early(run_dir)
    done = reuse.trained_epochs(run_dir)
    if runs.is_finished(run_dir) and (
        done <= epoch or (stop is not None and stop["epoch"] <= epoch)
    ):
        return run_dir / runs.WEIGHTS_FILE
    if done < epoch:
        return None
    raise RaekitError(
        f"{run_dir} trained past epoch {epoch} without keeping it (keep_epochs is "
        f"{runs.read_config(run_dir).keep_epochs!r}); train with --set keep_epochs=...,{epoch}"
    )


def materialize(run_dir: Path, dest: Path, epoch: int | None) -> dict[str, Any] | None:
    """Make `dest` a finished run of `run_dir` as of `epoch` (None: as it ended); returns what it
    was made from, or None when the run has not got there yet."""
    run_dir, dest = Path(run_dir), Path(dest)
    if epoch is None:
        if not reuse.is_finished(run_dir, runs.read_config(run_dir)):
            return None
        return _copy_final(run_dir, dest)
    source = weights_as_of(run_dir, epoch)
    if source is None:
        return None
    dest.mkdir(parents=True, exist_ok=True)
    for suffix in (".safetensors", ".json"):
        atomic_write_bytes(dest / f"model{suffix}", source.with_suffix(suffix).read_bytes())
    config = runs.read_config(run_dir)
    runs.write_config(dest, dataclasses.replace(config, epochs=epoch))
    rows = [r for r in runs.read_metrics(run_dir) if int(r["epoch"]) <= epoch]
    runs.write_metrics(dest, rows)
    stop = runs.stopped_early(run_dir)
    stopped = stop if stop is not None and stop["epoch"] <= epoch else None
    runs.write_status(dest, finished=True, epochs=epoch, stopped=stopped)
    return {"source": str(source), "sha256": digest(dest / runs.WEIGHTS_FILE), "epochs": len(rows)}


def _copy_final(run_dir: Path, dest: Path) -> dict[str, Any]:
    """The run's files and fitted densities (its evaluation is reused when it still matches)."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in run_dir.iterdir():
        if path.is_file() and not path.name.startswith("."):
            atomic_write_bytes(dest / path.name, path.read_bytes())
    if (run_dir / "densities").is_dir():
        shutil.copytree(run_dir / "densities", dest / "densities", dirs_exist_ok=True)
    source = run_dir / runs.WEIGHTS_FILE
    epochs = reuse.trained_epochs(run_dir)
    return {"source": str(source), "sha256": digest(dest / runs.WEIGHTS_FILE), "epochs": epochs}


def make_point(
    repro: Path, out: Path, seed: int, epoch: int | None, models
) -> tuple[list[str], dict[str, Any]]:
    """Materialize every model of `seed` as of `epoch` into OUT/<point>/; returns the models a
    reproduction of that point evaluates and what each run was made from."""
    point = Path(out) / point_name(epoch)
    pinned = Path(repro) / CLASSIFIER_DIR
    if pinned.is_dir() and not (point / CLASSIFIER_DIR).is_dir():  # the source's feature space
        shutil.copytree(pinned, point / CLASSIFIER_DIR)
    made, sources = [], {}
    for model in models:
        run_dir = Path(repro) / model / f"seed{seed}"
        first_stage = FIRST_STAGE_OF.get(model)
        if not (run_dir / runs.CONFIG_FILE).is_file():
            continue
        if epoch is not None and first_stage in models:  # adopted from this point's VAE
            made.append(model)
            continue
        found = materialize(run_dir, point / model / f"seed{seed}", epoch)
        if found is not None:
            made.append(model)
            sources[model] = found
    return [m for m in made if FIRST_STAGE_OF.get(m) in (None, *sources)], sources


def evaluate_point(
    repro: Path, out: Path, seed: int, epoch: int | None, features: str, n: int, models
) -> dict[str, Any] | None:
    """Evaluate one point with `raekit reproduce --only-trained`; None when no run reached it."""
    source = read_results(repro)
    made, sources = make_point(repro, out, seed, epoch, models)
    if not sources:
        return None
    overrides = dict(source.get("overrides") or {})
    if epoch is not None:
        overrides["epochs"] = epoch
    results = reproduce(
        source["dataset"],
        source["preset"],
        Path(out) / point_name(epoch),
        models=made,
        seeds=[seed],
        features=features,
        n=n,
        figures=False,
        train=False,
        estimate=False,
        overrides=overrides,
    )
    return {"point": point_name(epoch), "epoch": epoch, "sources": sources, "results": results}


def curve_rows(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (point, model): the epoch the weights stand for and each column's FID."""
    rows = []
    for point in points:
        cells = results_cells(point["results"])
        for model, found in cells.items():
            source = point["sources"].get(model) or point["sources"].get(FIRST_STAGE_OF.get(model))
            epoch = point["epoch"] if point["epoch"] is not None else source["epochs"]
            row = {"point": point["point"], "epoch": epoch, "model": model}
            row.update({c: found[c][0] if c in found else None for c in COLUMNS})
            rows.append(row)
    return rows


def spearman_rows(points: list[dict[str, Any]], paper: str) -> list[dict[str, Any]]:
    """Spearman's rho of each column's ordering against the paper's `paper` table, per point."""
    rows = []
    for point in points:
        for o in column_orderings(point["results"], paper):
            rows.append(
                {
                    "point": point["point"],
                    "column": o["column"],
                    "spearman": o["spearman"],
                    "models": len(o["models"]),
                }
            )
    return rows


def csv_text(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else [], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def plot_column(rows: list[dict[str, Any]], column: str, path: Path, title: str) -> Path:
    """FID of `column` against epoch, one line per model."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for model in sorted({r["model"] for r in rows}):
        points = sorted(
            (r["epoch"], r[column]) for r in rows if r["model"] == model and r[column] is not None
        )
        if points:
            ax.plot(*zip(*points), marker="o", label=model)
    ax.set(xlabel="epoch", ylabel=f"FID ({column})", title=title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_summary(out: Path, points, paper: str, command: str) -> dict[str, Any]:
    """learning_curves.csv, spearman.csv, fid-<column>.png and learning_curves.json in OUT."""
    out = Path(out)
    rows, rhos = curve_rows(points), spearman_rows(points, paper)
    atomic_write_text(out / "learning_curves.csv", csv_text(rows))
    atomic_write_text(out / "spearman.csv", csv_text(rhos))
    extractor = points[0]["results"].get("extractor", "") if points else ""
    for column in COLUMNS:
        plot_column(rows, column, out / f"fid-{column.lower()}.png", f"{column}, {extractor}")
    summary = {
        "command": command,
        "paper_table": paper,
        "points": [
            {"point": p["point"], "epoch": p["epoch"], "sources": p["sources"]} for p in points
        ],
        "fid": rows,
        "spearman": rhos,
    }
    write_json(out / SUMMARY_FILE, summary)
    return summary
