"""Tables 1 and 2 in one call: train (or reuse) every model for every seed, evaluate, tabulate.

Runs live in OUT/<model>/seed<k>/. A finished run is reused only when its config is the one asked
for; an unfinished one resumes. Classifier features come from OUT/classifier/, the classifier the
folder's first evaluation used, so all its scores share one feature space on any machine. Each
run's evaluation is kept in its eval.json, and results.json
and the tables are rewritten after every run, so a reproduction can be done in parts (on several
machines, then gathered in one folder) and `train=False` tabulates what is already trained.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from raekit import notices, runs
from raekit.config import RunConfig, make_config
from raekit.config.dataset_specs import SEQUENCE_TASKS
from raekit.errors import RaekitError
from raekit.metrics.classifier import CLASSIFIER_DIR
from raekit.paper import results_file as results_mod
from raekit.paper import reuse
from raekit.paper.estimate import print_estimate
from raekit.paper.estimate_log import EstimateLog
from raekit.paper.export import paper_column, write_results_files
from raekit.paper.first_stage import FIRST_STAGE_OF, adopt_first_stage, first_stage_of
from raekit.paper.orderings import column_orderings
from raekit.paper.report import write_report
from raekit.paper.reported import TABLE1, TABLE1_MODELS
from raekit.paper.run_scores import evaluate_run, protocol, read_eval
from raekit.paper.tables import density_table, table1, table2
from raekit.runs import Run
from raekit.runs.locks import locking
from raekit.training import train
from raekit.training.tracking import log_files, parse_backends, track_eval


@dataclass
class Job:
    model: str
    seed: int
    run_dir: Path
    config: RunConfig  # what is asked (equal to the saved config where a run exists)
    exists: bool
    finished: bool
    first_stage: Path | None = None  # a VAE run to reuse as this 2sVAE's first stage

    @property
    def classifier(self) -> Path:
        """The reproduction's pinned classifier (OUT/classifier/)."""
        return self.run_dir.parent.parent / CLASSIFIER_DIR


def run_dir_for(out: Path, model: str, seed: int) -> Path:
    return Path(out) / model / f"seed{seed}"


def plan(dataset: str, preset: str, out: Path, models, seeds, overrides=None) -> list[Job]:
    """Every (model, seed) with its folder; refuses folders holding a different run, before any work."""
    jobs = []
    models = _first_stages_first(models)
    for model in models:
        if (Path(out) / model / runs.CONFIG_FILE).exists():
            raise RaekitError(
                f"{Path(out) / model} holds a run outside the seed layout; "
                f"move it to {run_dir_for(out, model, 0)}"
            )
        for seed in seeds:
            run_dir = run_dir_for(out, model, seed)
            asked = make_config(dataset, model, preset, **{**(overrides or {}), "seed": seed})
            exists = reuse.check_reusable(run_dir, asked) is not None
            source = FIRST_STAGE_OF.get(model)
            jobs.append(
                Job(
                    model,
                    seed,
                    run_dir,
                    asked,
                    exists,
                    exists and reuse.is_finished(run_dir, asked),
                    run_dir_for(out, source, seed) if source in models and not exists else None,
                )
            )
    return jobs


def _first_stages_first(models) -> list[str]:
    """`models` with each first-stage model (the VAE) before the model that reuses it."""
    ordered = list(models)
    for model, source in FIRST_STAGE_OF.items():
        if model in ordered and source in ordered and ordered.index(source) > ordered.index(model):
            ordered.remove(source)
            ordered.insert(ordered.index(model), source)
    return ordered


def adopt_if_ready(job: Job, out: Path) -> None:
    """Take a 2sVAE's first stage from the finished VAE run of its seed (no second training)."""
    if (
        job.first_stage is None
        or job.finished
        or not reuse.is_finished(job.first_stage, job.config)
    ):
        return
    adopt_first_stage(
        job.first_stage, job.run_dir, job.config, str(job.first_stage.relative_to(out))
    )
    print(f"{job.run_dir}: first stage = {job.first_stage} (not trained again)", flush=True)
    job.exists = job.finished = True


def train_job(job: Job, data=None, **track) -> None:
    """Train or resume a job's run (`track`: train's track / experiment arguments)."""

    if job.finished:
        print(f"reusing {job.run_dir}", flush=True)
    else:
        train(job.config, job.run_dir, resume=job.exists, data=data, **track)


def evaluate_job(
    job: Job, run: Run, features: str, n: int, densities: list[str] | None, **track
) -> dict[str, Any]:
    """A job's evaluation: its eval.json when that matches the request, else a new one (logged
    to the run's trackers with `track`: track / experiment arguments)."""

    reuse.align_protocol(job.run_dir, job.config)
    previous = read_eval(job.run_dir)
    if reuse.eval_matches(
        previous,
        features,
        n,
        job.seed,
        densities,
        protocol(job.config),
        run_dir=job.run_dir,
        config=job.config,
        classifier=job.classifier,
    ):
        print(f"reusing {job.run_dir / 'eval.json'}", flush=True)
        return {**previous, "run": str(job.run_dir)}  # the folder may have moved since
    print(f"evaluating {job.run_dir} ({features} features, {n} samples)", flush=True)
    result = evaluate_run(
        run, features=features, n=n, densities=densities, seed=job.seed, classifier=job.classifier
    )
    if track:
        track_eval(track["track"], job.run_dir, result, track["experiment"])
    return result


def command_line(
    dataset, preset, out, models, seeds, features, n, densities, overrides=None
) -> str:
    """The `raekit reproduce` command equivalent to a call (recorded in results.json)."""
    parts = [
        "raekit reproduce",
        f"--dataset {dataset}",
        f"--preset {preset}",
        f"--seeds {','.join(map(str, seeds))}",
        f"--out {out}",
        f"--features {features}",
        f"--n {n}",
    ]
    if tuple(models) != TABLE1_MODELS:
        parts.append(f"--models {','.join(models)}")
    if densities:
        parts.append(f"--densities {','.join(densities)}")
    if overrides:
        parts.append("--set " + " ".join(f"{k}={v}" for k, v in overrides.items()))
    return " ".join(parts)


@locking("out", "reproduction folder")
def reproduce(
    dataset: str,
    preset: str,
    out: str | Path,
    models=TABLE1_MODELS,
    seeds=(0,),
    features: str = "classifier",
    n: int = 10_000,
    densities: list[str] | None = None,
    figures: bool = True,
    data=None,
    train: bool = True,
    estimate: bool = True,
    overrides: dict[str, Any] | None = None,
    track=None,
) -> dict[str, Any]:
    """Train (unless train=False: only finished runs are evaluated), evaluate and tabulate `models`
    for every seed (`overrides`: config values over the preset's); returns results.json's content.
    `track` logs every run to TensorBoard / MLflow, grouped under one MLflow experiment."""

    out, seeds, models = Path(out), list(seeds), list(models)
    _check_request(dataset, models, seeds)
    parse_backends(track)
    tracked = {"track": track, "experiment": experiment_name(out)} if track else {}
    jobs = plan(dataset, preset, out, models, seeds, overrides)
    out.mkdir(parents=True, exist_ok=True)
    log = _estimate(out, jobs, features, n, densities, train, data) if estimate else None
    request = (dataset, preset, out, models, seeds, features, n, densities, overrides)
    meta = {"dataset": dataset, "preset": preset, "features": features, "n": n, "seeds": seeds}
    meta |= {"overrides": dict(overrides or {}), "command": command_line(*request)}
    collected: dict[str, dict[str, dict[str, Any]]] = {}
    full: dict[str, dict[str, Any]] = {}  # first seed's full result per model, for the report
    loaded: dict[str, Run] = {}  # and its Run (the report draws with the model evaluated)
    results = None
    for job in jobs:
        adopt_if_ready(job, out)
        if not train and not job.finished:
            _say_untrained(job)
            continue
        print(f"== {job.model} seed {job.seed} on {dataset} ({preset} preset) ==", flush=True)
        notices.under_way()
        result, run = timed_job(job, log, features, n, densities, data, tracked)
        data = run.data  # read once: every job and the report share the dataset's splits
        full.setdefault(job.model, result)
        loaded.setdefault(job.model, run)
        collected.setdefault(job.model, {})[str(job.seed)] = _entry(job, result, out)
        meta.update({k: result[k] for k in ("extractor", "n_reference")})
        results = write_results(out, meta, collected)
    if results is None:  # only with train=False: every job was skipped as untrained
        raise RaekitError(f"nothing is trained yet in {out}; run without --only-trained to train")
    if figures:
        _report(out, results, full, loaded, tracked)
    return results


def _estimate(out: Path, jobs, features, n, densities, train, data) -> EstimateLog | None:
    """Print the time estimate; its log (OUT/estimates.json) records what happens beside it."""
    found = print_estimate(jobs, features, n, densities, train, data=data)
    return EstimateLog(out, found) if found is not None else None


def timed_job(job: Job, log, features, n, densities, data, tracked) -> tuple[dict[str, Any], Run]:
    """Train and evaluate a job; its evaluation and Run. `log` (an EstimateLog or None) records
    the seconds each took."""
    before = reuse.trained_epochs(job.run_dir) if job.exists else 0
    started = time.perf_counter()
    train_job(job, data, **tracked)
    trained = time.perf_counter()
    run = Run.of(job.run_dir, data=data)
    result = evaluate_job(job, run, features, n, densities, **tracked)
    if log is not None:
        log.record(job, before, trained - started, time.perf_counter() - trained)
    return result, run


def _check_request(dataset: str, models: list[str], seeds: list[int]) -> None:
    if not models:
        raise RaekitError(f"--models names no model (choices: {', '.join(TABLE1_MODELS)})")
    if dataset in SEQUENCE_TASKS:
        raise RaekitError(
            f"reproduce makes Tables 1-2 on image datasets; {dataset!r} is a sequence task "
            f"(Figure 2: `raekit reproduce-fig2 --task {dataset}`)"
        )
    if not seeds or len(set(seeds)) != len(seeds):
        raise RaekitError(f"--seeds must list distinct seeds, got {seeds}")


def _say_untrained(job) -> None:
    state = (
        f"{reuse.trained_epochs(job.run_dir)}/{job.config.epochs} epochs"
        if job.exists
        else "not started"
    )
    print(f"skipping {job.run_dir}: not trained ({state})", flush=True)


def _entry(job, result: dict[str, Any], out: Path) -> dict[str, Any]:
    """results.json's compact entry of one evaluated run, with its training time."""
    entry = results_mod.compact(result, str(job.run_dir.relative_to(out)))
    entry["train_seconds"] = round(
        sum(r.get("seconds", 0.0) for r in runs.read_metrics(job.run_dir)), 1
    )
    if first_stage_of(job.run_dir):  # its training is the VAE's, counted there
        entry["first_stage"], entry["train_seconds"] = first_stage_of(job.run_dir), 0.0
    return entry


def _report(out: Path, results, full, loaded: dict[str, Run], tracked: dict[str, Any]) -> None:
    """report.html and its figures; with tracking, the figures go to each run's log too."""
    tables = make_tables(results)
    orderings = (
        column_orderings(results, results["dataset"]) if results["dataset"] in TABLE1 else None
    )
    path = write_report(
        out,
        full,
        tables,
        paper_column(results),
        loaded,
        claims=results["claims"],
        orderings=orderings,
    )
    print(f"report: {path}")
    if tracked:  # the figures exist only now: add them to each run's log
        for result in full.values():
            run_dir = Path(result["run"])
            figures = sorted((run_dir / "figures").glob("*.png"))
            log_files(tracked["track"], run_dir, figures, tracked["experiment"])


def make_tables(results: dict[str, Any], paper: str | None = None):
    paper = paper or paper_column(results)
    return [table1(results, paper), table2(results, paper), density_table(results)]


def write_results(out: Path, meta: dict[str, Any], collected) -> dict[str, Any]:
    """results.json, table1.md and table2.md from the runs evaluated so far."""

    results = write_results_files(out, results_mod.build(meta, collected))
    done = sum(len(v) for v in collected.values())
    print(f"results: {out / results_mod.RESULTS_FILE} ({done} runs)", file=sys.stderr, flush=True)
    return results


def experiment_name(out: Path) -> str:
    """One MLflow experiment per reproduction folder."""
    return f"raekit-reproduce:{Path(out).resolve()}"
