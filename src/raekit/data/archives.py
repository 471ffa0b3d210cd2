"""Safe extraction of dataset archives: only the expected folder, no absolute or '..' paths."""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from raekit.errors import RaekitError


def extract_tar(archive: Path, dest: Path, folder: str) -> list[Path]:
    """Extract the regular files under `folder/` of a (gzipped) tarball into dest; return them."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = [m for m in tar.getmembers() if m.isfile() and _inside(m.name, folder)]
            if not members:
                raise RaekitError(f"{archive} holds no files under {folder}/")
            with tempfile.TemporaryDirectory(dir=dest, prefix=".extract-") as tmp:
                # filter="data" refuses links, devices and paths that leave the target folder.
                tar.extractall(tmp, members=members, filter="data")
                return _move_into(Path(tmp), dest, [m.name for m in members])
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise RaekitError(
            f"{archive} is corrupt or truncated ({exc.__class__.__name__}: {exc})"
        ) from None


def extract_zip(archive: Path, dest: Path, folder: str) -> list[Path]:
    """Extract the files under `folder/` of a zip archive into dest; return them."""
    try:
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/") and _inside(n, folder)]
            if not names:
                raise RaekitError(f"{archive} holds no files under {folder}/")
            with tempfile.TemporaryDirectory(dir=dest, prefix=".extract-") as tmp:
                for name in names:
                    target = Path(tmp, *PurePosixPath(name).parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(name) as src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out)
                return _move_into(Path(tmp), dest, names)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise RaekitError(
            f"{archive} is corrupt or truncated ({exc.__class__.__name__}: {exc})"
        ) from None


def _inside(name: str, folder: str) -> bool:
    """True for a relative path below `folder` with no '..' or absolute parts."""
    path = PurePosixPath(name)
    return (
        not path.is_absolute()
        and ".." not in path.parts
        and len(path.parts) > 1
        and path.parts[0] == folder
    )


def _move_into(tmp: Path, dest: Path, names: list[str]) -> list[Path]:
    """Rename the extracted files into dest only once all of them were extracted."""
    placed = []
    for name in names:
        target = dest.joinpath(*PurePosixPath(name).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp.joinpath(*PurePosixPath(name).parts), target)
        placed.append(target)
    return placed
