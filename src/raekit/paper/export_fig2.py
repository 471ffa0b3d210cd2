"""Commit a Figure 2 reproduction: copy each model's bo.json, config.yaml, metrics.csv and
`raekit grammar-check`'s check.json into results/<name>/ and its trained weights into
results/<name>/weights/<model>/ (a run folder `raekit bo` and `raekit grammar-check` accept),
write fig2.md, fig2.json and fig2.html there afresh from those files (so an export of committed
results brings them up to date), and write its README block from the new fig2.json, so README
always shows what fig2.json says."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from raekit import runs
from raekit.bo.check import CHECK_FILE
from raekit.config import make_config
from raekit.errors import RaekitError
from raekit.io.jsonio import read_json_object
from raekit.paper.claims import claims_markdown
from raekit.paper.export import copy_weights, duration
from raekit.paper.export_files import copy_export, inside, readme_update, update_readme
from raekit.paper.figure2 import write_fig2_outputs
from raekit.paper.figure2_claims import check_figure2_claims
from raekit.paper.figure2_seeds import combine_rows
from raekit.paper.figure2_tables import (
    check_table,
    figure2_table,
    gp_table,
    measures_table,
    progress_table,
)
from raekit.paper.reuse import EVALUATION, OPERATIONAL

FIG2_FILE = "fig2.json"
TOP_FILES = ("fig2.md", FIG2_FILE, "fig2.html")
RUN_FILES = ("bo.json", "config.yaml", "metrics.csv", CHECK_FILE)  # check.json where it exists


def is_fig2(folder: str | Path) -> bool:
    """Whether ``folder`` is a `raekit reproduce-fig2` output."""
    return (Path(folder) / FIG2_FILE).is_file()


def read_fig2(folder: str | Path) -> dict[str, dict[str, Any]]:
    """fig2.json's rows by model, or a clear error."""
    path = Path(folder) / FIG2_FILE
    try:
        rows = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as exc:
        raise RaekitError(f"cannot read {path}: {exc}") from None
    if (
        not isinstance(rows, dict)
        or not rows
        or not all(isinstance(r, dict) for r in rows.values())
    ):
        raise RaekitError(f"{path} is not a Figure 2 result (rows of BO results by model)")
    return rows


def _names(rows: dict[str, dict]) -> dict[str, list[str]]:
    """Each model's run folders: its trained models (`combine_rows`' ``runs``), else itself."""
    return {m: [str(n) for n in r.get("runs") or [m]] for m, r in rows.items()}


def export_fig2(repro: str | Path, dest: str | Path, readme: str | Path | None = None) -> Path:
    """Copy a Figure 2 reproduction, weights included, into ``dest``; update README's block if
    asked."""
    repro, dest = Path(repro), Path(dest)
    rows = read_fig2(repro)
    names = _names(rows)
    every = [n for group in names.values() for n in group]
    for name in every:  # names read from fig2.json: each must be a folder inside repro
        inside(repro, dest, name)
    if readme is not None:  # README must be readable text with a Results section before any write
        readme_update(readme, dest.name, "")
    run_files = [f"{name}/{file}" for name in every for file in RUN_FILES]
    copy_export(repro, dest, FIG2_FILE, (), run_files)
    copy_weights(repro, dest, every)
    checks = {n: read_json_object(repro / n / CHECK_FILE) for n in every}
    task = next(iter(rows.values()))["task"]
    rows = {m: _combined(task, names[m], repro, rows[m]) for m in rows}
    write_fig2_outputs(dest, task, rows, checks)
    if readme is not None:
        rows = read_fig2(dest)
        config = runs.read_config(repro / every[0])
        block = fig2_block(rows, dest.name, _training_seconds(repro, every), config, _all(checks))
        update_readme(readme, dest.name, block)
    return dest


def _combined(task: str, names: list[str], repro: Path, row: dict) -> dict:
    """A model's row again from its trained models' bo.json (the fig2.json row where one is
    missing)."""
    bo = [_bo_row(read_json_object(repro / n / "bo.json")) for n in names]
    if any(b is None for b in bo):
        return _bo_row(row)
    return combine_rows(task, names, bo)


def _bo_row(row: dict | None) -> dict | None:
    """A BO row without what an earlier export added (it is derived again)."""
    return None if row is None else {k: v for k, v in row.items() if k != "learning"}


def _all(checks: dict[str, dict | None]) -> dict[str, dict] | None:
    """Each model's `raekit grammar-check` report; None unless every model has one."""
    return checks if all(checks.values()) else None


def _training_seconds(repro: Path, names: list[str]) -> dict[str, float]:
    """Each trained model's training wall time, summed from its metrics.csv."""
    return {n: sum(r.get("seconds", 0.0) for r in runs.read_metrics(repro / n)) for n in names}


def _command_options(first: dict, config) -> str:
    """reproduce-fig2's options for a row's protocol (training seeds and epochs where they are
    not the defaults)."""
    options = (
        f"--gp {first['gp']} --iterations {first['iterations']} --batch {first['batch']} "
        f"--seeds {first['seeds']}"
    )
    if first.get("training_seeds", 1) > 1:
        options += f" --train-seeds {first['training_seeds']}"
    default = make_config(config.dataset, config.model, config.preset)
    if config.epochs != default.epochs:
        options += f" --epochs {config.epochs}"
    settings = [
        f"{key}={value}"
        for key, value in dataclasses.asdict(config).items()
        if key not in _NOT_SET and value != getattr(default, key)
    ]
    return options + (f" --set {' '.join(settings)}" if settings else "")


# What reproduce-fig2 sets by its own options, or what does not change a trained model.
_NOT_SET = ("seed", "epochs", "data_root", *OPERATIONAL, *EVALUATION)


def fig2_block(
    rows: dict[str, dict],
    name: str,
    training: dict[str, float],
    config,
    checks: dict[str, dict] | None = None,
) -> str:
    """README's block for one committed Figure 2: command, wall times, table, claim checks
    (``config``: a trained model's, for the preset and epochs)."""
    first = next(iter(rows.values()))
    task, preset = first["task"], config.preset
    options = _command_options(first, config)
    trained = first.get("training_seeds", 1)
    per_type = f"{trained} trained models per type, " if trained > 1 else ""
    bo = [r.get("bo_seconds") for r in rows.values()]
    bo_time = "not recorded" if None in bo else duration(sum(bo))
    lines = [
        f"<!-- results {name}: written by `raekit export-results` from results/{name}/{FIG2_FILE} -->",
        f"#### Figure 2, {task}, `{preset}` preset, {per_type}{first['seeds']} "
        f"{'BO seed' if first['seeds'] == 1 else 'seeds'} of "
        f"{first['iterations']} x {first['batch']} proposals, {first['gp']} GP",
        "",
        f"Wall time on 2 shared CPU cores: training {duration(sum(training.values()))} "
        f"({len(training)} trained models), BO {bo_time}. Regenerate with:",
        "",
        "```bash",
        f"raekit reproduce-fig2 --task {task} --preset {preset} --out runs/{name} {options}",
        f"raekit export-results runs/{name} --dest results/{name} --readme docs/results.md",
        "```",
        "",
        figure2_table(task, rows).markdown(),
        "The paper's claims at this scale:",
        "",
        claims_markdown(check_figure2_claims(task, rows)),
    ]
    measured = measures_table(task, checks or {})
    tables = [check_table(checks)] if checks else []
    tables += ([measured] if measured else []) + [gp_table(rows), progress_table(rows)]
    for table in tables:
        lines += [table.markdown(), table.note, ""]
    lines.append(f"<!-- /results {name} -->")
    return "\n".join(lines)
