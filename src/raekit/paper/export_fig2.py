"""Commit a Figure 2 reproduction: copy its table, fig2.json, HTML page and each model's bo.json,
config.yaml, metrics.csv and `raekit grammar-check`'s check.json (never weights) into
results/<name>/, and write its README block from fig2.json, so README always shows what
fig2.json says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from raekit import runs
from raekit.bo.check import CHECK_FILE
from raekit.errors import RaekitError
from raekit.jsonio import read_json_object
from raekit.paper.claims import claims_markdown
from raekit.paper.export import copy_export, duration, inside, readme_update, write_readme
from raekit.paper.figure2 import check_table, figure2_table
from raekit.paper.figure2_claims import check_figure2_claims

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


def export_fig2(repro: str | Path, dest: str | Path, readme: str | Path | None = None) -> Path:
    """Copy a Figure 2 reproduction (no weights) into ``dest``; update README's block if asked."""
    repro, dest = Path(repro), Path(dest)
    rows = read_fig2(repro)
    for model in rows:  # names read from fig2.json: each must be a folder inside repro
        inside(repro, dest, model)
    run_files = [f"{model}/{name}" for model in rows for name in RUN_FILES]
    update = None
    if readme is not None:  # the README's new text is made (and checked) before any copy
        preset = runs.read_config(inside(repro, dest, next(iter(rows)))[0]).preset
        checks = _checks(repro, rows)
        block = fig2_block(rows, dest.name, _training_seconds(repro, rows), preset, checks)
        update = readme_update(readme, dest.name, block)
    copy_export(repro, dest, FIG2_FILE, TOP_FILES, run_files)
    if update is not None:
        write_readme(*update)
    return dest


def _training_seconds(repro: Path, rows: dict[str, dict]) -> dict[str, float]:
    """Each model's training wall time, summed from its metrics.csv."""
    return {m: sum(r.get("seconds", 0.0) for r in runs.read_metrics(repro / m)) for m in rows}


def _checks(repro: Path, rows: dict[str, dict]) -> dict[str, dict] | None:
    """Each model's `raekit grammar-check` report; None unless every model has one."""
    checks = {m: read_json_object(repro / m / CHECK_FILE) for m in rows}
    return checks if all(checks.values()) else None


def fig2_block(
    rows: dict[str, dict],
    name: str,
    training: dict[str, float],
    preset: str,
    checks: dict[str, dict] | None = None,
) -> str:
    """README's block for one committed Figure 2: command, wall times, table, claim checks."""
    first = next(iter(rows.values()))
    task = first["task"]
    options = (
        f"--gp {first['gp']} --iterations {first['iterations']} --batch {first['batch']} "
        f"--seeds {first['seeds']}"
    )
    bo = [r.get("bo_seconds") for r in rows.values()]
    bo_time = "not recorded" if None in bo else duration(sum(bo))
    lines = [
        f"<!-- results {name}: written by `raekit export-results` from results/{name}/{FIG2_FILE} -->",
        f"#### Figure 2, {task}, `{preset}` preset, {first['seeds']} seeds of "
        f"{first['iterations']} x {first['batch']} proposals, {first['gp']} GP",
        "",
        f"Wall time on 2 shared CPU cores: training {duration(sum(training.values()))} "
        f"({len(training)} models), BO {bo_time}. Regenerate with:",
        "",
        "```bash",
        f"raekit reproduce-fig2 --task {task} --preset {preset} --out runs/{name} {options}",
        f"raekit export-results runs/{name} --dest results/{name} --readme README.md",
        "```",
        "",
        figure2_table(task, rows).markdown(),
        "The paper's claims at this scale:",
        "",
        claims_markdown(check_figure2_claims(task, rows)),
    ]
    if checks:
        table = check_table(checks)
        lines += [table.markdown(), table.note, ""]
    lines.append(f"<!-- /results {name} -->")
    return "\n".join(lines)
