"""Crash-safe file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from raekit.errors import RaekitError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success fsync it and rename it over `path`.

    The temporary name starts with '.' and ends in '.tmp', so it is never taken for a finished
    file. On any exception the temporary file is removed and `path` is left untouched; a failed
    write (full disk, read-only folder) becomes a RaekitError naming `path`. `mode`: the new
    file's permission bits (default: what open() would give it).
    """
    path = Path(path)
    with write_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            # mkstemp creates 0600; a finished file gets the mode open() would give it.
            os.fchmod(fd, 0o666 & ~current_umask() if mode is None else mode)
        finally:
            os.close(fd)
    tmp = Path(tmp)
    try:
        with write_errors(path):
            yield tmp
            commit(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def write_errors(path: Path) -> Iterator[None]:
    """Turn an operating-system failure while writing `path` into one clear RaekitError."""
    try:
        yield
    except RaekitError:
        raise
    except OSError as exc:
        raise write_error(path, exc) from None
    except Exception as exc:  # safetensors reports disk errors as its own type, "... (os error 28)"
        if "os error" not in str(exc) and "I/O error" not in str(exc):
            raise
        raise write_error(path, exc) from None


def write_error(path: Path, exc: Exception) -> RaekitError:
    reason = getattr(exc, "strerror", None) or str(exc)
    other = getattr(exc, "filename", None)
    if other and Path(other).parent != path.parent:  # the failure was about another file
        reason += f" ({other})"
    kept = " (the previous file was kept)" if path.exists() else ""
    return RaekitError(f"cannot write {path}: {reason}{kept}")


def commit(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """Make the finished file `tmp` durable, then rename it over `path` in one step."""
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(Path(path).parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, mode: int | None = None) -> None:
    with atomic_path(path, mode) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux /proc)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: read it by setting it, then put it back at once
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    # The rename is durable only once the directory entry is flushed (POSIX); Windows can't open dirs.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
