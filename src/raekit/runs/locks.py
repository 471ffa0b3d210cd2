"""One writer per folder: an exclusive lock held while a command writes into a run or output folder.

The lock is a `.raekit.lock` file inside the folder, locked with flock(2) and holding the owner's
PID. The kernel drops a flock when its process dies however it dies (SIGKILL, a crash, a lost
node), so a lock left by a dead process is taken over without any clean-up step, and the PID in
the file is only for the message. Locks are re-entrant within one process (evaluate may fit a
density into the run it holds), and under torchrun only rank 0, the rank that writes, takes them.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from raekit.errors import RaekitError

LOCK_FILE = ".raekit.lock"

try:
    import fcntl
except ImportError:  # Windows: no flock; fall back to a PID file checked for a live owner
    fcntl = None

_held: set[Path] = set()  # folders this process holds


class FolderLocked(RaekitError):
    """Another live process holds the folder's lock."""


def writes_here() -> bool:
    """Whether this process is the one that writes: rank 0 under torchrun, or a single process."""
    return os.environ.get("RANK", "0") == "0"


@contextlib.contextmanager
def hold(folder: str | os.PathLike, what: str = "folder") -> Iterator[Path]:
    """Hold `folder`'s exclusive lock (creating the folder if needed) for the `with` block.

    A second process gets FolderLocked naming the holder's PID. A folder this call created is
    removed again on exit if nothing was written into it.
    """
    try:
        folder = Path(folder).resolve()
    except (RuntimeError, OSError):  # Python < 3.13 raises RuntimeError for a loop
        raise RaekitError(f"{folder} is a symlink loop; choose another folder") from None
    if not writes_here() or folder in _held:  # nested: the outer block holds the lock
        yield folder
        return
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise RaekitError(f"{folder} exists and is not a folder") from None
    except OSError as exc:
        raise RaekitError(f"cannot create {folder}: {exc.strerror}") from None
    path = folder / LOCK_FILE
    try:
        fd = _acquire(path, what)
        _held.add(folder)
        try:
            yield folder
        finally:
            _held.discard(folder)
            _release(path, fd)
    finally:
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only succeeds when empty: nothing was written


def locking(param: str, what: str) -> Callable:
    """Decorator: hold the lock of the folder passed as argument `param` (a path, or an object
    with a `directory`, such as a Run) while the function runs. Values without a folder (a
    model object) take no lock."""

    def wrap(function: Callable) -> Callable:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def locked(*args, **kwargs):
            value = signature.bind(*args, **kwargs).arguments.get(param)
            value = getattr(value, "directory", value)
            if not isinstance(value, (str, os.PathLike)):
                return function(*args, **kwargs)
            with hold(value, what):
                return function(*args, **kwargs)

        return locked

    return wrap


def holder(folder: str | os.PathLike) -> int | None:
    """PID of the live process holding `folder`'s lock, or None."""
    path = Path(folder) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    try:
        if _try_lock(fd, path):
            _unlock(fd)
            return None
        return _read_pid(path)
    finally:
        os.close(fd)


def _acquire(path: Path, what: str) -> int:
    for _ in range(50):  # retried only while a releasing holder deletes the file under us
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RaekitError(f"cannot lock {path.parent}: {exc.strerror}") from None
        if not _try_lock(fd, path):
            os.close(fd)
            pid = _read_pid(path)
            who = f"process {pid}" if pid else "another process"
            raise FolderLocked(
                f"{path.parent} is in use by {who} (another raekit command is writing this "
                f"{what}); wait for it to finish, or stop it"
            )
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            try:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            except OSError as exc:  # a full disk: no lock file is left behind
                _release(path, fd)  # closes fd (closing it twice would hide this error)
                raise RaekitError(f"cannot write {path}: {exc.strerror}") from None
            return fd
        os.close(fd)  # the file we locked was unlinked by its previous holder: lock the new one
        time.sleep(0.01)
    raise FolderLocked(f"cannot lock {path.parent}: its lock file keeps changing")


def _release(path: Path, fd: int) -> None:
    # Unlink before unlocking, so a waiter that locked the old file notices (inode check) and retries.
    with contextlib.suppress(OSError):
        path.unlink()
    _unlock(fd)
    os.close(fd)


def _read_pid(path: Path) -> int | None:
    for _ in range(20):  # the holder writes its PID just after locking
        try:
            text = path.read_text().strip()
        except (OSError, UnicodeDecodeError):
            return None
        if text.isdigit():
            return int(text)
        time.sleep(0.005)
    return None


def _try_lock(fd: int, path: Path) -> bool:
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        except OSError as exc:
            raise RaekitError(f"cannot lock {path.parent}: {exc.strerror}") from None
    pid = _read_pid(path)
    return pid is None or pid == os.getpid() or not _alive(pid)


def _unlock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True
