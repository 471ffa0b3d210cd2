"""Image readers on tiny files written in each real format."""
import gzip
import os
import pickle

import numpy as np
import pytest
from PIL import Image

from raekit.data import load_images
from raekit.data.celeba import preprocess
from raekit.data.idx import read_idx
from raekit.data.mnist import IDX_FILES
from raekit.errors import RaekitError


def write_idx(path, array, gz=False):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


def write_mnist_idx(root, n_train=10_010, n_test=7, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.integers(0, 256, (n_train, 28, 28)), rng.integers(0, 10, n_train),
              rng.integers(0, 256, (n_test, 28, 28)), rng.integers(0, 10, n_test)]
    for stem, array in zip(IDX_FILES, arrays):
        write_idx(root / (stem + (".gz" if gz else "")), array, gz)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_idx_mnist_splits_pixels_labels_and_padding(tmp_path, gz):
    train_x, train_y, test_x, test_y = write_mnist_idx(tmp_path, gz=gz)
    data = load_images("mnist", tmp_path)
    assert data.train.shape == (10, 1, 32, 32) and data.valid.shape == (10_000, 1, 32, 32)
    assert np.array_equal(data.train[:, 0, 2:30, 2:30], train_x[:10])
    assert np.array_equal(data.valid[:, 0, 2:30, 2:30], train_x[10:])
    assert np.array_equal(data.test[:, 0, 2:30, 2:30], test_x) and np.array_equal(data.test_labels, test_y)
    assert np.array_equal(data.train_labels, train_y[:10]) and np.array_equal(data.valid_labels, train_y[10:])
    border = np.ones((32, 32), bool)
    border[2:30, 2:30] = False
    assert (data.train[:, 0][:, border] == 0).all()


def _classic_pickle(path, payload):
    path.write_bytes(gzip.compress(pickle.dumps(payload, protocol=2)))


def test_classic_pickle_file(tmp_path):
    rng = np.random.default_rng(1)
    k = [rng.integers(0, 256, (n, 784)) for n in (5, 3, 4)]
    payload = tuple((ki.astype(np.float32) / 256, rng.integers(0, 10, len(ki))) for ki in k)
    _classic_pickle(tmp_path / "mnist.pkl.gz", payload)
    data = load_images("mnist", tmp_path)
    assert np.array_equal(data.train[:, 0, 2:30, 2:30].reshape(5, -1), k[0])
    assert np.array_equal(data.valid_labels, payload[1][1]) and data.test.shape == (4, 1, 32, 32)


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    _classic_pickle(tmp_path / "mnist.pkl.gz", _Exploit(marker))
    with pytest.raises(RaekitError, match="refusing to unpickle"):
        load_images("mnist", tmp_path)
    assert not marker.exists()


def test_cifar10_binary_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    rng = np.random.default_rng(2)
    batches = {}
    for name, n in [*((f"data_batch_{i}.bin", 2001) for i in range(1, 6)), ("test_batch.bin", 3)]:
        labels, pixels = rng.integers(0, 10, n), rng.integers(0, 256, (n, 3072))
        (folder / name).write_bytes(np.concatenate([labels[:, None], pixels], 1).astype(np.uint8).tobytes())
        batches[name] = (labels, pixels.reshape(n, 3, 32, 32))
    data = load_images("cifar10", tmp_path)
    assert data.train.shape == (5, 3, 32, 32) and data.valid.shape == (10_000, 3, 32, 32)
    assert np.array_equal(data.train, batches["data_batch_1.bin"][1][:5])
    assert np.array_equal(data.test_labels, batches["test_batch.bin"][0])


def test_celeba_crop_resize_and_official_splits(tmp_path, monkeypatch):
    folder = tmp_path / "img_align_celeba"
    folder.mkdir()
    rng = np.random.default_rng(3)
    lines = []
    for i in range(6):
        name = f"{i + 1:06d}.png"  # lossless, so pixels compare exactly
        Image.fromarray(rng.integers(0, 256, (218, 178, 3), dtype=np.uint8)).save(folder / name)
        lines.append(f"{name} {i % 3}")
    (tmp_path / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    data = load_images("celeba", tmp_path)
    assert data.train.shape == (2, 3, 64, 64) and data.train_labels is None
    with Image.open(folder / "000001.png") as im:
        expected = np.asarray(im.crop((19, 39, 159, 179)).resize((64, 64), Image.BILINEAR)).transpose(2, 0, 1)
    assert np.array_equal(data.train[0], expected)
    assert np.array_equal(load_images("celeba", tmp_path).valid, data.valid)  # from the .npy cache


def test_digits_are_always_available_and_disjoint():
    data = load_images("digits")
    assert (len(data.train), len(data.valid), len(data.test)) == (1257, 270, 270)
    rows = {bytes(x) for x in data.train.reshape(len(data.train), -1)}
    assert data.train.dtype == np.uint8 and data.image_shape == (1, 32, 32) and len(rows) > 1000


@pytest.mark.parametrize("corrupt,message", [
    (lambda p: p.write_bytes(p.read_bytes()[:-5]), "corrupt or truncated"),
    (lambda p: p.write_bytes(b"\x01\x02" + p.read_bytes()[2:]), "bad magic number"),
])
def test_corrupt_idx_is_reported(tmp_path, corrupt, message):
    write_mnist_idx(tmp_path)
    corrupt(tmp_path / IDX_FILES[2])
    with pytest.raises(RaekitError, match=message):
        load_images("mnist", tmp_path)


def test_truncated_cifar_batch(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for name in [*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin"]:
        (folder / name).write_bytes(bytes(3073 * 3 - 7))
    with pytest.raises(RaekitError, match="not a whole number of 3073-byte"):
        load_images("cifar10", tmp_path)


def test_missing_files_say_how_to_get_them(tmp_path):
    with pytest.raises(RaekitError, match="raekit fetch mnist"):
        load_images("mnist")
    with pytest.raises(RaekitError, match="missing train-labels-idx1-ubyte, t10k-images-idx3-ubyte"):
        write_idx(tmp_path / IDX_FILES[0], np.zeros((10_001, 28, 28)))
        load_images("mnist", tmp_path)
    with pytest.raises(RaekitError, match="list_eval_partition.txt"):
        load_images("celeba", tmp_path)
    with pytest.raises(RaekitError, match="did you mean 'cifar10'"):
        load_images("cifar")


def test_wrong_image_shape_and_empty_splits_are_rejected(tmp_path):
    from raekit.data.splits import ImageSplits
    good = np.zeros((2, 1, 32, 32), np.uint8)
    with pytest.raises(RaekitError, match="expected 1 or 3 channels"):
        ImageSplits("x", np.zeros((2, 2, 32, 32), np.uint8), good, good)
    with pytest.raises(RaekitError, match="the split is empty"):
        ImageSplits("x", good, good[:0], good)
    with pytest.raises(RaekitError, match="expected uint8"):
        ImageSplits("x", good.astype(float), good, good)
    with pytest.raises(RaekitError, match="3 labels for 2 images"):
        ImageSplits("x", good, good, good, train_labels=np.zeros(3))


def test_read_idx_round_trip(tmp_path):
    array = np.arange(24).reshape(2, 3, 4)
    write_idx(tmp_path / "a", array)
    assert np.array_equal(read_idx(tmp_path / "a"), array)
