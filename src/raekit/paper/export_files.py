"""The file side of `raekit export-results`: every path read from a results file resolves inside
its reproduction folder and inside --dest, JSON files must parse, and README is updated where it
really is (through a symlink), keeping its line endings and mode. Everything is checked before
the first file is written."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from raekit import notices
from raekit.errors import RaekitError
from raekit.io.atomic import atomic_write_bytes
from raekit.io.jsonio import read_json_object


def copy_export(
    repro: Path, dest: Path, marker: str, top_files: Sequence[str], run_files: Iterable[str]
) -> None:
    """Copy ``top_files`` (a missing one is reported) and ``run_files`` (where they exist) from
    ``repro`` into ``dest``, which must be empty or an earlier export (it holds ``marker``)."""
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
    copy_files([(src, dst) for src, dst in pairs if src.is_file()])


def copy_files(pairs: list[tuple[Path, Path]]) -> None:
    """Check every source (JSON must parse), then copy each atomically (a full disk names the
    destination and leaves no temporary file)."""
    for src, _ in pairs:
        check_exportable(src)
    for src, dst in pairs:
        if src.resolve() != dst.resolve():  # exporting a folder onto itself: nothing to copy
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
    if src.suffix == ".json" and read_json_object(src) is None:
        raise RaekitError(f"{src} is not a JSON object (damaged?); nothing was exported")


def readme_update(readme: str | Path, name: str, block: str) -> tuple[Path, str, int]:
    """The page's new text with `name`'s block replaced, or added at the end of its Results section
    (`## Results` of README, or a page headed `# Results`);
    where the file really is (a symlink is followed) and its mode. Reads only."""
    real = Path(readme).resolve()
    text, mode = read_readme(real)
    block = block.replace("\n", line_ending(text))
    pattern = re.compile(
        rf"<!-- results {re.escape(name)}: .*?<!-- /results {re.escape(name)} -->", re.S
    )
    if pattern.search(text):
        return real, pattern.sub(lambda _: block, text), mode
    heading = re.search(r"(?:^|\n)(#{1,2}) Results\r?\n", text)
    if heading is None:
        raise RaekitError(f"{readme} has no '## Results' section to add {name}'s results to")
    end = _section_end(text, heading.end(), len(heading.group(1)))
    end -= text[end - 1 : end] == "\r"  # a CRLF line: its \r belongs to the next part
    eol = line_ending(text)
    return real, text[:end].rstrip("\r\n") + eol * 2 + block + eol + text[end:], mode


def _section_end(text: str, start: int, level: int) -> int:
    """Where the section whose body starts at ``start`` ends: the newline before the next heading
    of ``level`` or above, outside fenced code (a shell comment is no heading), else the end."""
    heading = re.compile(rf"#{{1,{level}}} ")
    fenced, offset = False, start
    for line in text[start:].split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and heading.match(line):
            return offset - 1
        offset += len(line) + 1
    return len(text)


def line_ending(text: str) -> str:
    """CRLF when every line of `text` ends so, else LF."""
    return "\r\n" if text.count("\r\n") == text.count("\n") > 0 else "\n"


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


def write_readme(path: Path, text: str, mode: int) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def update_readme(readme: str | Path, name: str, block: str) -> None:
    """Replace `name`'s block in README's Results section, or add it at the section's end."""
    write_readme(*readme_update(readme, name, block))
