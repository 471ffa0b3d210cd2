"""Commit a reproduction: copy what a reader needs (no weights) into results/<name>/, and write its
block of README's Results section from results.json, so README always shows what results.json says."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from raekit import notices
from raekit.atomic import atomic_write_bytes
from raekit.errors import RaekitError
from raekit.jsonio import read_json_object
from raekit.paper.claims import check_claims, claims_markdown
from raekit.paper.paper_results import TABLE1
from raekit.paper.results import RESULTS_FILE, read_results
from raekit.paper.tables import table1, table2

TOP_FILES = ("table1.md", "table2.md", RESULTS_FILE, "report.html")
RUN_FILES = ("config.yaml", "metrics.csv", "eval.json")
PAPER_NOTE = (
    "Ghosh et al. (ICLR 2020), full-width networks, 100 epochs, Inception FID; "
    "only orderings and ratios compare with ours"
)


def export_results(repro: str | Path, dest: str | Path, readme: str | Path | None = None) -> Path:
    """Copy a reproduction's tables, results.json, report.html and each run's config.yaml,
    metrics.csv and eval.json (never weights) into `dest`; update README's block if asked."""
    repro, dest = Path(repro), Path(dest)
    results = read_results(repro)
    run_files = [
        f"{entry['run']}/{name}"
        for by_seed in results["runs"].values()
        for entry in by_seed.values()
        for name in RUN_FILES
    ]
    update = (
        None
        if readme is None
        else readme_update(readme, dest.name, readme_block(results, dest.name))
    )
    copy_export(repro, dest, RESULTS_FILE, TOP_FILES, run_files)
    if update is not None:  # checked before anything was copied
        write_readme(*update)
    return dest


def copy_export(
    repro: Path, dest: Path, marker: str, top_files: Sequence[str], run_files: Iterable[str]
) -> None:
    """Copy ``top_files`` (a missing one is reported) and ``run_files`` (where they exist) from
    ``repro`` into ``dest``, which must be empty or an earlier export (it holds ``marker``).
    Every path must stay inside ``repro`` and ``dest`` and every JSON file must parse: all is
    checked before the first file is written."""
    if dest.exists() and any(dest.iterdir()) and not (dest / marker).is_file():
        raise RaekitError(
            f"{dest} holds files that are not a raekit export; choose an empty --dest"
        )
    pairs = []
    for name in top_files:
        if (repro / name).is_file():
            pairs.append(inside(repro, dest, name))
        else:
            notices.note(f"{repro / name} does not exist; not exported")
    pairs += [inside(repro, dest, name) for name in run_files]
    pairs = [(src, dst) for src, dst in pairs if src.is_file()]
    for src, _ in pairs:
        check_exportable(src)
    for src, dst in pairs:
        atomic_write_bytes(dst, src.read_bytes())


def inside(repro: Path, dest: Path, name: str) -> tuple[Path, Path]:
    """Source and destination of ``name`` (a path read from a results file): both must resolve
    inside their folders, whatever the name holds (``..``, an absolute path, a symlink)."""
    relative = Path(name)
    src, dst = repro / relative, dest / relative
    if relative.is_absolute() or ".." in relative.parts or not _under(src, repro):
        raise RaekitError(f"{repro} names {name!r}, which is outside {repro}; nothing was exported")
    if not _under(dst, dest):
        raise RaekitError(f"{dst} leads outside {dest} (a symlink); nothing was exported")
    return src, dst


def _under(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def check_exportable(src: Path) -> None:
    """A JSON file exported as a result must be one: a damaged or binary file is refused."""
    if src.suffix != ".json":
        return
    if read_json_object(src) is None:
        raise RaekitError(f"{src} is not a JSON object (damaged?); nothing was exported")


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
        f"raekit export-results runs/{name} --dest results/{name} --readme README.md",
        "```",
        "",
        table1(results, paper).markdown(),
        table2(results, paper).markdown(),
    ]
    if paper:
        lines += [f"(Paper columns: {PAPER_NOTE}.)", ""]
    lines += [
        "The paper's claims at this scale:",
        "",
        claims_markdown(check_claims(results)),
        f"<!-- /results {name} -->",
    ]
    return "\n".join(lines)


def update_readme(readme: str | Path, name: str, block: str) -> None:
    """Replace `name`'s block in README's Results section, or add it at the section's end."""
    write_readme(*readme_update(readme, name, block))


def write_readme(path: Path, text: str, mode: int) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def readme_update(readme: str | Path, name: str, block: str) -> tuple[Path, str, int]:
    """README's new text, where it really is (a symlink is followed, so the file it names is
    updated) and its mode; line endings stay as they are. Reads only: nothing is written."""
    real = Path(readme).resolve()
    text, mode = read_readme(real)
    eol = "\r\n" if text.count("\r\n") == text.count("\n") > 0 else "\n"
    block = block.replace("\n", eol)
    pattern = re.compile(
        rf"<!-- results {re.escape(name)}: .*?<!-- /results {re.escape(name)} -->", re.S
    )
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        heading = re.search(r"\n## Results\r?\n", text)
        if heading is None:
            raise RaekitError(f"{readme} has no '## Results' section to add {name}'s results to")
        following = text.find("\n## ", heading.end())
        end = len(text) if following < 0 else following
        end -= text[end - 1 : end] == "\r"  # a CRLF line: its \r belongs to the next part
        text = text[:end].rstrip("\r\n") + eol * 2 + block + eol + text[end:]
    return real, text, mode


def read_readme(path: Path) -> tuple[str, int]:
    """README's text (line endings as they are) and its permission bits, or one clear error."""
    try:
        return path.read_bytes().decode("utf-8"), path.stat().st_mode & 0o7777
    except FileNotFoundError:
        raise RaekitError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise RaekitError(f"{path} is a folder, not a README file") from None
    except UnicodeDecodeError:
        raise RaekitError(f"{path} is not UTF-8 text; nothing was written") from None
    except OSError as exc:
        raise RaekitError(f"cannot read {path}: {exc.strerror}") from None


def parse_readme_tables(readme_text: str, name: str) -> dict[str, list[list[str]]]:
    """{"Table 1": rows, "Table 2": rows} of `name`'s block in README (cells as text)."""
    match = re.search(
        rf"<!-- results {re.escape(name)}: (.*?)<!-- /results {re.escape(name)} -->",
        readme_text,
        re.S,
    )
    if not match:
        raise RaekitError(f"README has no results block for {name}")
    tables, current = {}, None
    for line in match.group(1).splitlines():
        if line.startswith("Table 1") or line.startswith("Table 2"):
            current = tables.setdefault(line[:7], [])
        elif (
            line.startswith("|")
            and current is not None
            and not line.startswith("| model")
            and not line.startswith("| ---")
            and not line.startswith("| claim")
        ):
            current.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif not line.strip().startswith("|") and line.strip() and current is not None and current:
            current = None
    return tables
