"""Figure 2 of the paper: BO results of CVAE, GVAE and GRAE as a table and an HTML report."""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path

from raekit.bo.acquisition import ACQUISITION
from raekit.bo.check import check_run
from raekit.bo.measures import check_counts as checked_counts
from raekit.bo.optimise import check_bo_options, run_bo
from raekit.config import make_config
from raekit.errors import RaekitError
from raekit.grammar.sequence_task import sequence_task
from raekit.io.atomic import atomic_write_text
from raekit.io.jsonio import write_json
from raekit.paper import reuse
from raekit.paper.captions import plural
from raekit.paper.claims import claims_html, claims_markdown
from raekit.paper.figure2_claims import check_figure2_claims, learning, not_tested_reasons
from raekit.paper.figure2_seeds import combine_rows, combined_learning, run_name
from raekit.paper.figure2_tables import (
    PAPER_FIG2,
    best_so_far_png,
    check_table,
    distinct_top,
    figure2_table,
    gp_table,
    measures_table,
    progress_table,
    score_note,
)
from raekit.paper.htmlpage import Section, embed_png, page
from raekit.paper.tables import Table
from raekit.runs import Run
from raekit.training import train

__all__ = ["PAPER_FIG2", "check_table", "figure2_table", "reproduce_fig2", "write_fig2_outputs"]


WORST_OVER_WORDS = {"all": "over all runs", "run": "of that run"}


def _best_cell(task: str, item: str, value: float) -> str:
    text = f"<br><code>{html.escape(item)}</code><br>score {value:.2f}"
    picture = sequence_task(task).picture
    return (embed_png(picture(item), item) if picture else "") + text


def _table_note(name: str, rows: dict[str, dict]) -> str:
    task = sequence_task(name)
    first = next(iter(rows.values()), {})
    keys = ("training_seeds", "seeds", "iterations", "batch", "gp")
    protocol = ", ".join(f"{k.replace('_', ' ')} {first[k]}" for k in keys if k in first)
    return (
        f"Latent-space Bayesian optimisation{f' ({protocol})' if protocol else ''}: frac. valid is "
        f"the fraction of proposals that decode to a valid {task.item}; "
        "avg. score the mean over seeds of each run's average score, GrammarVAE's way: valid "
        f"scores as bad as the worst one ({WORST_OVER_WORDS[task.worst_over]}) left out; "
        f"{score_note(rows)} Score = {task.score_sense}; "
        "bold: the best of each column. Paper: Ghosh et al. (ICLR 2020), Figure 2."
    )


def _best_grid(task: str, rows: dict[str, dict]) -> str:
    tops = {model: distinct_top(task, r["top"]) for model, r in rows.items()}
    width = max((len(t) for t in tops.values()), default=0)
    head = "<tr><th>model</th>" + "".join(f"<th>top {i + 1}</th>" for i in range(width)) + "</tr>"
    grid = "".join(
        f"<tr><th>{html.escape(model)}</th>"
        + "".join(f"<td>{_best_cell(task, item, value)}</td>" for item, value in top)
        + "</tr>"
        for model, top in tops.items()
    )
    return (
        f"<table class='grid' id='fig2-best'><thead>{head}</thead><tbody>{grid}</tbody></table>"
        "<p class='note'>GrammarVAE's top 3: the best valid proposal of each seed, the three best "
        "of those, distinct items and scores; one row per model.</p>"
    )


def _detail(rows: dict[str, dict], out: Path | None = None) -> list[Section]:
    """Each model's BO settings and single numbers as a two-column table, numbers rounded."""
    sections = []
    for model, r in rows.items():
        cells = "".join(
            f"<tr><th scope='row'>{html.escape(str(k))}</th><td>{html.escape(_cell(v, out))}</td></tr>"
            for k, v in r.items()
            if not isinstance(v, (list, dict))
        )
        table = (
            f"<table class='detail' id='detail-{html.escape(model)}'><tbody>{cells}</tbody></table>"
        )
        sections.append(Section(f"model-{model}", model, table, 3))
    return sections


def _cell(value, out: Path | None) -> str:
    """A setting as the report shows it: 4 significant digits, '–' for none, paths relative."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    if isinstance(value, str) and Path(text).is_absolute():
        base = out.resolve() if out is not None else None
        try:
            return str(Path(text).resolve().relative_to(base)) if base else Path(text).name
        except ValueError:
            return Path(text).name
    return text


def _tables(task: str, rows: dict[str, dict], checks: dict[str, dict] | None) -> list[Table]:
    """The tables under the claims: model checks (where every model has one), GP, progress."""
    out = [check_table(checks)] if checks and all(checks.values()) else []
    measured = measures_table(task, checks or {})
    return out + ([measured] if measured else []) + [gp_table(rows), progress_table(rows)]


def write_fig2_report(
    out: Path,
    task: str,
    table: Table,
    rows: dict[str, dict],
    extra: list[Table] | None = None,
) -> Path:
    """fig2.html: contents, the Figure 2 table (best in bold), the claims, the `extra` tables
    (what the models learned, the GP, BO's progress), BO's best-so-far curves, the best
    proposals of every model side by side (molecule drawings for molecules), then each model's
    BO settings."""
    lower = sequence_task(task).lower_is_better
    table.goals = [None, "max", "min" if lower else "max", None, None, "max"]
    table.goals.append("min" if lower else "max")
    table.key = "fig2"
    table.note = _table_note(task, rows)
    claims = claims_html(check_figure2_claims(task, rows), heading=False)
    sections = [
        Section("fig2", table.title, table.html(heading=False)),
        Section("claims", "The paper's claims at this scale", claims),
    ]
    for i, t in enumerate(extra or []):
        sections.append(Section(f"extra-{i}", t.title, t.html(heading=False)))
    curves = best_so_far_png(rows, lower)
    if curves is not None:
        sections.append(Section("curves", "BO best-so-far curves", embed_png(curves, "curves")))
    sections += [
        Section("best", "Best proposals side by side", _best_grid(task, rows)),
        Section("models", "Per-model detail", ""),
        *_detail(rows, out),
    ]
    path = out / "fig2.html"
    atomic_write_text(
        path,
        page(
            f"raekit: Figure 2 ({task})",
            sections,
            html.escape(
                f"{plural(len(rows), 'model')}, Bayesian optimisation in their latent spaces."
            ),
        ),
    )
    return path


def _learned(model: str, row: dict, checks: dict[str, dict]) -> dict | None:
    """What the row's trained models learned (`combined_learning` of their checks)."""
    names = row.get("runs") or [model]
    return combined_learning([learning(checks.get(name)) for name in names])


def write_fig2_outputs(
    out: Path, task: str, rows: dict[str, dict], checks: dict[str, dict] | None
) -> Path:
    """fig2.md, fig2.json and fig2.html from BO rows and `raekit grammar-check` reports; each
    row gains what its check says the model learned, which decides whether the claims are
    tested (the reasons are printed when they are not)."""
    rows = {m: {**r, "learning": _learned(m, r, checks or {})} for m, r in rows.items()}
    reasons = not_tested_reasons(rows)
    if reasons:
        print(f"Figure 2 claims not tested: {'; '.join(reasons)}", file=sys.stderr, flush=True)
    table = figure2_table(task, rows)
    extra = _tables(task, rows, checks)
    claims = claims_markdown(check_figure2_claims(task, rows))
    parts = [table.markdown(), _table_note(task, rows), "", claims]
    for t in extra:
        parts += [t.markdown(), t.note, ""]
    atomic_write_text(out / "fig2.md", "\n".join(parts))
    write_json(out / "fig2.json", rows)
    return write_fig2_report(out, task, table, rows, extra)


def _train_or_reuse(config, run_dir: Path) -> Path:
    """A finished run with this config is reused, an unfinished one resumed, else one is trained."""

    exists = reuse.check_reusable(run_dir, config) is not None
    if exists and reuse.is_finished(run_dir, config):
        print(f"reusing {run_dir}", flush=True)
        return run_dir
    return train(config, run_dir, resume=exists)


def _training_overrides(overrides: dict, data_root: str | None, epochs: int | None) -> dict:
    """--set values with --data-root and --epochs; seeds come from --train-seeds only."""
    for key, option in (("seed", "--train-seeds"), ("epochs", "--epochs")):
        if key in overrides:
            raise RaekitError(f"--set {key}=... is not accepted here: use {option}")
    extra = {"data_root": data_root, "epochs": epochs}
    return {**overrides, **{k: v for k, v in extra.items() if v is not None}}


def _same_protocol(cached: dict, options: dict, task: str) -> bool:
    """A bo.json answers these options (defaults as run_bo's) when every protocol field agrees."""
    wanted = {
        "iterations": options.get("iterations", 5),
        "batch": options.get("batch", 50),
        "seeds": options.get("seeds", 5),
        "gp": options.get("gp", "sparse"),
        "invalid": options.get("invalid", "worst"),
        "average": sequence_task(task).average_rule,
        "acquisition": ACQUISITION,
        "validity": sequence_task(task).validity,
        "standardisation": options.get("standardise", "zinc250k")
        if sequence_task(task).standardised
        else None,
    }
    return all(cached.get(k) == v for k, v in wanted.items())


def _read_bo(path: Path) -> dict | None:
    """A run's earlier BO result (None when there is none)."""
    if not path.is_file():
        return None
    try:
        cached = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        cached = None
    if not isinstance(cached, dict):
        raise RaekitError(f"{path} is damaged (not a JSON object); delete it to run BO again")
    return cached


def _one_model(task, out, model, preset, seed, overrides, bo_options, counts):
    """Train (or reuse) one model with training ``seed``; its BO row and its check."""
    config = make_config(task, model, preset, seed=seed, **overrides)
    run_dir = _train_or_reuse(config, out / run_name(model, seed))
    cached = _read_bo(run_dir / "bo.json")
    same = cached and _same_protocol(cached, bo_options, task)
    run = Run.of(run_dir)  # one model load for BO and the check
    row = cached if same else run_bo(run, **bo_options)
    return row, check_run(run, reuse=True, counts=counts)


def reproduce_fig2(
    task: str,
    out: str | Path,
    preset: str = "cpu",
    models=("cvae", "gvae", "grae"),
    data_root: str | None = None,
    check_counts: dict | None = None,
    train_seeds: int = 1,
    epochs: int | None = None,
    overrides: dict | None = None,
    **bo_options,
) -> Path:
    """Train (or reuse) each model ``train_seeds`` times (training seeds 0, 1, ...; folders
    `run_name`), run BO over seeds on each, check what each learned (GrammarVAE's measures with
    ``check_counts``), write fig2.md / fig2.json / fig2.html with one row per model type
    (`combine_rows`). ``epochs`` and ``overrides`` (config key -> value, the CLI's --set)
    replace the preset's training settings."""
    check_bo_options(**bo_options)
    if train_seeds < 1 or (epochs is not None and epochs < 1):
        raise RaekitError("--train-seeds and --epochs must be at least 1")
    overrides = _training_overrides(overrides or {}, data_root, epochs)
    for model in models:  # a bad model or setting stops before any folder is made
        make_config(task, model, preset, **overrides)
    counts = checked_counts(check_counts or {})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows, checks = {}, {}
    for model in models:
        names = [run_name(model, seed) for seed in range(train_seeds)]
        found = [
            _one_model(task, out, model, preset, s, overrides, bo_options, counts)
            for s in range(train_seeds)
        ]
        rows[model] = combine_rows(task, names, [row for row, _ in found])
        checks.update({name: check for name, (_, check) in zip(names, found)})
    return write_fig2_outputs(out, task, rows, checks)
