"""Commit a reproduction: copy what a reader needs, trained weights included, into results/<name>/,
and write its block of README's Results section from results.json, so README always shows what
results.json says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from raekit import notices
from raekit.generation.densities import DENSITY_DIR
from raekit.io.atomic import atomic_write_text
from raekit.io.jsonio import read_json_object, write_json
from raekit.metrics.classifier import CLASSIFIER_DIR
from raekit.paper.captions import protocol_words, run_protocols
from raekit.paper.claims import (
    RULE_WORDS,
    check_claims,
    claims_markdown,
    paper_claims_markdown,
)
from raekit.paper.export_files import (
    copy_export,
    copy_files,
    inside,
    line_ending,
    readme_update,
    update_readme,  # noqa: F401  (part of this module's interface)
    write_readme,
)
from raekit.paper.orderings import column_orderings, orderings_markdown
from raekit.paper.reported import TABLE1
from raekit.paper.results_file import RESULTS_FILE, read_results
from raekit.paper.tables import FIRST_STAGE_NOTE, density_table, table1, table2
from raekit.training.stopping import KEPT_DIR

TOP_FILES = ("report.html",)  # results.json and the tables are written afresh
RUN_FILES = ("config.yaml", "metrics.csv", "eval.json")
# A run folder that `raekit evaluate` and `raekit reproduce --only-trained` accept as it is.
WEIGHT_FILES = (
    "model.safetensors",
    "model.json",
    "config.yaml",
    "metrics.csv",
    "status.json",
    "first_stage.json",  # a 2sVAE whose first stage is the VAE of its seed
)
# Folders of a run exported with its weights: its fitted densities (its evaluation is reused only
# with them) and the weights it kept for learning curves (keep_epochs).
WEIGHT_FOLDERS = (DENSITY_DIR, KEPT_DIR)
WEIGHTS_DIR = "weights"
# The reproduction's pinned classifier: its classifier FIDs are re-evaluated in that feature space.
CLASSIFIER_FILES = (f"{CLASSIFIER_DIR}/model.safetensors", f"{CLASSIFIER_DIR}/classifier.json")
PAPER_NOTE = (
    "Ghosh et al. (ICLR 2020), full-width networks, 100 epochs, Inception FID; only the "
    "orderings compare with ours (below), not the values and not their ratios: a ratio does not "
    "carry over from one feature space to another. The paper's Table 2 pairs are shown as "
    "printed, F_8 first"
)


def export_results(repro: str | Path, dest: str | Path, readme: str | Path | None = None) -> Path:
    """Copy a reproduction's report.html, its pinned classifier and each run's config.yaml,
    metrics.csv and eval.json into `dest`, its trained weights into `dest`/weights/<model>/seed<k>/
    (a complete run folder with its fitted densities and kept weights), write results.json and
    the tables afresh (claims of this raekit), and update README's block if asked."""
    repro, dest = Path(repro), Path(dest)
    results = with_claims(read_results(repro))
    run_dirs = [entry["run"] for by_seed in results["runs"].values() for entry in by_seed.values()]
    for run in run_dirs:  # every run path stays inside repro and dest, before any work
        inside(repro, dest, run)
    run_files = [f"{run}/{name}" for run in run_dirs for name in RUN_FILES] + list(CLASSIFIER_FILES)
    update = None
    if readme is not None:  # README's new text is made (and checked) before anything is written
        real, text, mode = readme_update(readme, dest.name, readme_block(results, dest.name))
        update = (real, with_paper_claims(text), mode)
    copy_export(repro, dest, RESULTS_FILE, TOP_FILES, run_files)
    name_runs_by_folder(dest, run_dirs)
    copy_weights(repro, dest, run_dirs)
    write_results_files(dest, results)
    if update is not None:
        write_readme(*update)
    return dest


def name_runs_by_folder(dest: Path, run_dirs: list[str]) -> None:
    """Each exported eval.json names its run by its folder inside the export, not by the path on
    the machine that evaluated it (committed files carry no machine's folders)."""
    for run in run_dirs:
        path = dest / run / "eval.json"
        if path.is_file():
            scores = read_json_object(path)
            if scores is not None and scores.get("run", run) != run:
                write_json(path, {**scores, "run": run})


def copy_weights(repro: Path, dest: Path, run_dirs: list[str]) -> None:
    """Each run's weights and what loading them needs into dest/weights/<run>/ (from repro/<run>,
    or from repro/weights/<run> when repro is itself an export); runs without weights (trained
    before raekit kept them) are counted in one line on stderr."""
    missing, pairs = [], []
    for run in run_dirs:
        held = (run, f"{WEIGHTS_DIR}/{run}")
        source = next((s for s in held if (repro / s / WEIGHT_FILES[0]).is_file()), None)
        if source is None:
            missing.append(run)
            continue
        for name in (*WEIGHT_FILES, *_folder_files(repro / source)):
            src, _ = inside(repro, dest, f"{source}/{name}")
            _, dst = inside(repro, dest / WEIGHTS_DIR, f"{run}/{name}")
            if src.is_file():
                pairs.append((src, dst))
    copy_files(pairs)
    if missing:
        notices.note(
            f"{len(missing)} of {len(run_dirs)} runs have no {WEIGHT_FILES[0]} in {repro}; "
            "their weights are not exported"
        )


def _folder_files(run_dir: Path) -> list[str]:
    """The files of a run's WEIGHT_FOLDERS, relative to the run."""
    return [
        f"{folder}/{path.name}"
        for folder in WEIGHT_FOLDERS
        if (run_dir / folder).is_dir()
        for path in sorted((run_dir / folder).iterdir())
        if path.is_file() and not path.name.startswith(".")
    ]


def with_claims(results: dict[str, Any]) -> dict[str, Any]:
    """results.json's content with the claims checked by this raekit."""
    return {**results, "claims": check_claims(results)}


def write_results_files(out: Path, results: dict[str, Any]) -> dict[str, Any]:
    """results.json (with the claims checked now), table1.md and table2.md in `out`."""
    results = with_claims(results)
    write_json(out / RESULTS_FILE, results)
    paper = paper_column(results)
    tables = [table1(results, paper), table2(results, paper), density_table(results)]
    atomic_write_text(out / "table1.md", tables[0].markdown() + "\n" + tables[2].markdown())
    atomic_write_text(out / "table2.md", tables[1].markdown())
    return results


def paper_column(results: dict[str, Any]) -> str | None:
    """The paper's numbers sit beside ours in the tables only where the setting is the paper's."""
    return (
        results["dataset"]
        if results.get("preset") == "paper" and results["dataset"] in TABLE1
        else None
    )


def duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def wall_times(results: dict[str, Any]) -> tuple[float, float, int]:
    """Total training seconds, total evaluation seconds, number of runs."""
    entries = [e for by_seed in results["runs"].values() for e in by_seed.values()]
    return (
        sum(e.get("train_seconds") or 0.0 for e in entries),
        sum(e.get("seconds") or 0.0 for e in entries),
        len(entries),
    )


def _overridden(results: dict[str, Any]) -> str:
    overrides = results.get("overrides") or {}
    return f" with {' '.join(f'{k}={v}' for k, v in overrides.items())}" if overrides else ""


def readme_block(results: dict[str, Any], name: str) -> str:
    """README's block for one committed reproduction: command, wall time, Tables 1-2, claims."""

    paper = results["dataset"] if results["dataset"] in TABLE1 else None
    train_s, eval_s, count = wall_times(results)
    command = re.sub(
        r"--out \S+", f"--out runs/{name}", results.get("command") or "raekit reproduce"
    )
    seeds = sorted({int(s) for by_seed in results["runs"].values() for s in by_seed})
    lines = [
        f"<!-- results {name}: written by `raekit export-results` from results/{name}/results.json -->",
        f"#### {results['dataset']}, `{results['preset']}` preset{_overridden(results)}, "
        f"seeds {', '.join(map(str, seeds))}",
        "",
        f"Wall time on 2 shared CPU cores: training {duration(train_s)}, evaluation {duration(eval_s)} "
        f"({count} run{'s' if count != 1 else ''}). Regenerate with:",
        "",
        "```bash",
        command,
        f"raekit export-results runs/{name} --dest results/{name} --readme docs/results.md",
        "```",
        "",
        table1(results, paper).markdown(),
        table2(results, paper).markdown(),
        f"{protocol_words(run_protocols(results))} {FIRST_STAGE_NOTE}",
        "",
    ]
    if paper:
        lines += [f"(Paper columns: {PAPER_NOTE}.)", ""]
        lines += [
            "Orderings of Table 1's columns against the paper's (seed means):",
            "",
            orderings_markdown(column_orderings(results, paper)),
        ]
    lines += [
        "The paper's claims at this scale, and on the paper's own table of the same dataset:",
        "",
        claims_markdown(check_claims(results)),
        RULE_WORDS,
        "",
        f"<!-- /results {name} -->",
    ]
    return "\n".join(lines)


PAPER_CLAIMS_START = "<!-- paper-claims: written by `raekit export-results` -->"
PAPER_CLAIMS_END = "<!-- /paper-claims -->"


def paper_claims_block() -> str:
    return f"{PAPER_CLAIMS_START}\n{paper_claims_markdown()}{PAPER_CLAIMS_END}"


def with_paper_claims(text: str) -> str:
    """README's text with its table of the paper's claims on its own tables rewritten, where it
    has one (in the text's line endings)."""
    start, end = text.find(PAPER_CLAIMS_START), text.find(PAPER_CLAIMS_END)
    if start < 0 or end <= start:
        return text
    block = paper_claims_block().replace("\n", line_ending(text))
    return text[:start] + block + text[end + len(PAPER_CLAIMS_END) :]
