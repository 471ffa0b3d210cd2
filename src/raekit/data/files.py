"""Locating a dataset's files, and the error raised when they are not there."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from raekit.errors import RaekitError


class MissingFiles(RaekitError):
    """A folder lacks a dataset's files (as opposed to holding files that are corrupt)."""

    def __init__(self, name: str, where: str):
        self.where = where  # "<folder> has no <files>", possibly for several folders
        super().__init__(f"{name}: {where}")


def missing_files(name: str, folder: Path, wanted: str) -> MissingFiles:
    """The error for `folder` lacking the files described by `wanted`."""
    return MissingFiles(name, f"{folder} has no {wanted}")


def first_file(root: Path, names: Iterable[str]) -> Path | None:
    """The first of `names` that is a file under `root`, else None."""
    for name in names:
        if (root / name).is_file():
            return root / name
    return None
