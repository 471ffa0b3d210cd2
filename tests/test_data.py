"""Image readers on tiny files written in each real format; every bad input is a RaekitError."""

import gzip
import os
import pickle

import numpy as np
import pytest
from PIL import Image

from raekit.data import ImageSplits, dataset_dir, load_images
from raekit.data.idx import read_idx
from raekit.data.mnist import IDX_FILES
from raekit.errors import RaekitError

N_TRAIN = 10_006


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Each test its own cache folder, so what one test fetches is not found by another."""
    monkeypatch.setenv(
        "RAEKIT_CACHE", str(tmp_path / "cache")
    )  # the last 10,000 are held out for validation, leaving 6 for training


def idx_bytes(array, code=0x08, dtype=">u1"):
    """An IDX file written by hand: magic 0 0 code ndim, big-endian dims, big-endian values."""
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in array.shape
    )
    return header + np.ascontiguousarray(array, dtype=dtype).tobytes()


def write_idx(path, array, gz=False):
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if gz else data)


def write_mnist_idx(root, n_train=N_TRAIN, n_test=7, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [
        rng.integers(0, 256, (n_train, 28, 28)),
        rng.integers(0, 10, n_train),
        rng.integers(0, 256, (n_test, 28, 28)),
        rng.integers(0, 10, n_test),
    ]
    for stem, array in zip(IDX_FILES, arrays):
        write_idx(root / (stem + (".gz" if gz else "")), array, gz)
    return arrays


def unpad(images):
    return images[:, 0, 2:30, 2:30]


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_idx_splits_pixels_labels_and_zero_padding(tmp_path, gz, name):
    train_x, train_y, test_x, test_y = write_mnist_idx(tmp_path, gz=gz)
    data = load_images(name, tmp_path)
    assert data.name == name and data.image_shape == (1, 32, 32)
    assert (len(data.train), len(data.valid), len(data.test)) == (6, 10_000, 7)
    # train is the first part, valid the last 10k: together exactly the training file, no overlap
    assert np.array_equal(np.concatenate([unpad(data.train), unpad(data.valid)]), train_x)
    assert np.array_equal(np.concatenate([data.train_labels, data.valid_labels]), train_y)
    assert np.array_equal(unpad(data.test), test_x) and np.array_equal(data.test_labels, test_y)
    assert data.train.dtype == np.uint8 and data.train_labels.dtype == np.int64
    border = np.ones((32, 32), bool)
    border[2:30, 2:30] = False
    assert not data.train[:, 0][:, border].any() and not data.test[:, 0][:, border].any()


@pytest.mark.parametrize(
    "code,dtype",
    [(0x08, ">u1"), (0x09, ">i1"), (0x0B, ">i2"), (0x0C, ">i4"), (0x0D, ">f4"), (0x0E, ">f8")],
)
def test_read_idx_every_type_code(tmp_path, code, dtype):
    array = (np.arange(24).reshape(2, 3, 4) * (-1 if dtype[1] != "u" else 1)).astype(dtype)
    (tmp_path / "a").write_bytes(idx_bytes(array, code, dtype))
    out = read_idx(tmp_path / "a")
    assert out.dtype == np.dtype(dtype).newbyteorder("=") and np.array_equal(out, array)


@pytest.mark.parametrize(
    "corrupt,message",
    [
        (lambda raw: raw[:-5], "header says shape \\(7, 28, 28\\)"),
        (lambda raw: raw + b"\0", "corrupt or truncated"),
        (lambda raw: b"\x01\x02" + raw[2:], "bad magic number"),
        (lambda raw: raw[:2] + b"\x07" + raw[3:], "bad magic number"),
        (lambda raw: raw[:6], "header of 3 dimensions"),
        (lambda raw: gzip.compress(raw)[:-20], "corrupt or truncated"),
    ],
)
def test_corrupt_idx_names_the_file(tmp_path, corrupt, message):
    write_mnist_idx(tmp_path)
    path = tmp_path / IDX_FILES[2]
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(RaekitError, match=message) as info:
        load_images("mnist", tmp_path)
    assert IDX_FILES[2] in str(info.value)


def test_idx_content_is_validated(tmp_path):
    write_mnist_idx(tmp_path)
    write_idx(tmp_path / IDX_FILES[2], np.zeros((7, 27, 28)))
    with pytest.raises(RaekitError, match="expected 28x28 images"):
        load_images("mnist", tmp_path)
    write_mnist_idx(tmp_path)
    write_idx(tmp_path / IDX_FILES[3], np.array([0, 1, 2, 3, 4, 5, 10]))
    with pytest.raises(RaekitError, match="labels must lie in 0..9, found 0..10"):
        load_images("mnist", tmp_path)
    write_mnist_idx(tmp_path)
    write_idx(tmp_path / IDX_FILES[1], np.zeros(N_TRAIN - 1))
    with pytest.raises(RaekitError, match="10005 training labels for 10006 training images"):
        load_images("mnist", tmp_path)
    write_mnist_idx(tmp_path)
    write_idx(tmp_path / IDX_FILES[3], np.zeros(6))
    with pytest.raises(RaekitError, match="6 labels for 7 test images"):
        load_images("mnist", tmp_path)
    write_mnist_idx(tmp_path, n_train=10_000)
    with pytest.raises(RaekitError, match="need more than 10000"):
        load_images("mnist", tmp_path)


def write_pickle(path, payload, protocol=2):
    path.write_bytes(gzip.compress(pickle.dumps(payload, protocol=protocol)))


@pytest.mark.parametrize("protocol", [2, 4])
def test_classic_pickle_pixels_are_round_256x(tmp_path, protocol):
    rng = np.random.default_rng(1)
    k = [rng.integers(0, 256, (n, 784)) for n in (5, 3, 4)]
    labels = [rng.integers(0, 10, len(ki)) for ki in k]
    payload = tuple((ki.astype(np.float32) / 256, yi) for ki, yi in zip(k, labels))
    write_pickle(tmp_path / "mnist.pkl.gz", payload, protocol)
    data = load_images("mnist", tmp_path)
    for images, ki in zip((data.train, data.valid, data.test), k):
        assert np.array_equal(unpad(images).reshape(len(ki), -1), ki)
    assert all(
        np.array_equal(a, b)
        for a, b in zip((data.train_labels, data.valid_labels, data.test_labels), labels)
    )
    assert data.train.shape == (5, 1, 32, 32) and not data.train[:, 0, :2].any()


def test_classic_pickle_rounding_and_clipping(tmp_path):
    x = np.zeros((1, 784))
    # 256 x = 0, 1, 128, 255, 100.6, 100.4, 255.74, 256 -> round, clip to 255
    x[0, :8] = [0, 1 / 256, 0.5, 255 / 256, 100.6 / 256, 100.4 / 256, 0.999, 1.0]
    write_pickle(tmp_path / "mnist.pkl.gz", tuple((x, np.array([3])) for _ in range(3)))
    assert list(unpad(load_images("mnist", tmp_path).train)[0, 0, :8]) == [
        0,
        1,
        128,
        255,
        101,
        100,
        255,
        255,
    ]


class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path, protocol):
    marker = tmp_path / "pwned"
    payload = (
        (np.zeros((1, 784)), Exploit(marker)),
        (np.zeros((1, 784)), [0]),
        (np.zeros((1, 784)), [0]),
    )
    write_pickle(tmp_path / "mnist.pkl.gz", payload, protocol)
    with pytest.raises(RaekitError, match="refusing to unpickle (posix|os).system"):
        load_images("mnist", tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload,message",
    [
        (
            (np.zeros((2, 784)), np.zeros(2, int)),
            "does not hold the \\(train, valid, test\\) pairs",
        ),
        (
            tuple((np.full((2, 784), 1.5), np.zeros(2, int)) for _ in range(3)),
            "must be finite and in \\[0, 1\\]",
        ),
        (tuple((np.full((2, 784), np.nan), np.zeros(2, int)) for _ in range(3)), "must be finite"),
        (
            tuple((np.zeros((2, 783)), np.zeros(2, int)) for _ in range(3)),
            "expected N x 784 float pixels",
        ),
        (tuple((np.zeros((2, 784)), np.zeros(3, int)) for _ in range(3)), "3 labels for 2 images"),
        (
            tuple((np.zeros((2, 784)), np.array([0, 12])) for _ in range(3)),
            "labels must lie in 0..9",
        ),
    ],
)
def test_classic_pickle_content_is_validated(tmp_path, payload, message):
    write_pickle(tmp_path / "mnist.pkl.gz", payload)
    with pytest.raises(RaekitError, match=message):
        load_images("mnist", tmp_path)


def test_truncated_pickle(tmp_path):
    write_pickle(
        tmp_path / "mnist.pkl.gz", tuple((np.zeros((2, 784)), np.zeros(2, int)) for _ in range(3))
    )
    raw = gzip.decompress((tmp_path / "mnist.pkl.gz").read_bytes())
    (tmp_path / "mnist.pkl.gz").write_bytes(gzip.compress(raw[: len(raw) // 2]))
    with pytest.raises(RaekitError, match="mnist.pkl.gz is corrupt or truncated"):
        load_images("mnist", tmp_path)


def write_cifar(root, n_train=2002, n_test=3, seed=2, labels_high=10):
    folder = root / "cifar-10-batches-bin"
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    batches = {}
    for name, n in [
        *((f"data_batch_{i}.bin", n_train) for i in range(1, 6)),
        ("test_batch.bin", n_test),
    ]:
        labels, pixels = rng.integers(0, labels_high, n), rng.integers(0, 256, (n, 3072))
        (folder / name).write_bytes(
            np.concatenate([labels[:, None], pixels], 1).astype(np.uint8).tobytes()
        )
        batches[name] = (labels, pixels)
    return batches


def test_cifar10_records_and_split(tmp_path):
    batches = write_cifar(tmp_path)
    data = load_images("cifar10", tmp_path)
    train_pixels = np.concatenate([batches[f"data_batch_{i}.bin"][1] for i in range(1, 6)])
    train_labels = np.concatenate([batches[f"data_batch_{i}.bin"][0] for i in range(1, 6)])
    assert (len(data.train), len(data.valid), len(data.test)) == (10, 10_000, 3)
    both = np.concatenate([data.train, data.valid])
    assert np.array_equal(both.reshape(len(both), -1), train_pixels)  # 1024 R, then G, then B bytes
    assert np.array_equal(both[0, 1, 0, :4], train_pixels[0, 1024:1028])
    assert np.array_equal(np.concatenate([data.train_labels, data.valid_labels]), train_labels)
    assert np.array_equal(data.test.reshape(3, -1), batches["test_batch.bin"][1])
    assert np.array_equal(data.test_labels, batches["test_batch.bin"][0])
    assert np.array_equal(load_images("cifar10", tmp_path / "cifar-10-batches-bin").test, data.test)


def test_cifar10_bad_files(tmp_path):
    write_cifar(tmp_path, labels_high=256)
    with pytest.raises(RaekitError, match="data_batch_1.bin: labels must lie in 0..9"):
        load_images("cifar10", tmp_path)
    write_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-bin" / "data_batch_3.bin").write_bytes(bytes(3073 * 3 - 7))
    with pytest.raises(
        RaekitError, match="data_batch_3.bin is corrupt.*not a whole number of 3073-byte"
    ):
        load_images("cifar10", tmp_path)
    (tmp_path / "cifar-10-batches-bin" / "test_batch.bin").unlink()
    with pytest.raises(RaekitError, match="has no test_batch.bin"):
        load_images("cifar10", tmp_path)


def write_celeba(root, n=7, seed=3):
    folder = root / "img_align_celeba"
    folder.mkdir()
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(n):
        name = f"{i + 1:06d}.jpg"
        Image.fromarray(rng.integers(0, 256, (218, 178, 3), dtype=np.uint8)).save(
            folder / name, quality=90
        )
        lines.append(f"{name} {[0, 0, 0, 1, 1, 2, 2][i]}")
    (root / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    return folder


def test_celeba_centre_crop_resize_and_official_splits(tmp_path):
    folder = write_celeba(tmp_path)
    data = load_images("celeba", tmp_path)
    assert (len(data.train), len(data.valid), len(data.test)) == (
        3,
        2,
        2,
    ) and data.train_labels is None
    for split, index, names in (
        (data.train, 0, "000001.jpg"),
        (data.valid, 1, "000005.jpg"),
        (data.test, 0, "000006.jpg"),
    ):
        with Image.open(folder / names) as im:  # 178x218: centre 140x140 starts at (19, 39)
            rgb = (
                im.convert("RGB")
                .crop((19, 39, 159, 179))
                .resize((64, 64), Image.Resampling.BILINEAR)
            )
        assert np.array_equal(split[index], np.asarray(rgb).transpose(2, 0, 1))
    cached = sorted((dataset_dir("celeba")).glob("decoded-*.npy"))
    assert len(cached) == 3
    again = load_images("celeba", tmp_path)  # read back from the .npy cache
    assert np.array_equal(again.valid, data.valid) and np.array_equal(again.test, data.test)


def test_celeba_bad_inputs(tmp_path):
    folder = write_celeba(tmp_path)
    partition = tmp_path / "list_eval_partition.txt"
    partition.write_text("000001.jpg 0\n000002.jpg 3\n")
    with pytest.raises(
        RaekitError, match="list_eval_partition.txt:2: expected '<image file name> <0|1|2>'"
    ):
        load_images("celeba", tmp_path)
    partition.write_text("../secret.jpg 0\n")
    with pytest.raises(RaekitError, match=":1: expected"):
        load_images("celeba", tmp_path)
    partition.write_text("000001.jpg 0\n000099.jpg 1\n000003.jpg 2\n")
    with pytest.raises(RaekitError, match="cannot read CelebA image .*000099.jpg"):
        load_images("celeba", tmp_path)
    Image.new("RGB", (100, 218)).save(folder / "000099.jpg")
    with pytest.raises(RaekitError, match="100x218 is smaller than the 140x140 crop"):
        load_images("celeba", tmp_path)
    partition.write_text("000001.jpg 0\n000003.jpg 2\n")
    with pytest.raises(RaekitError, match="celeba valid: the split is empty"):
        load_images("celeba", tmp_path)


def test_digits_always_available_seeded_and_disjoint():
    from sklearn.datasets import load_digits

    data, again = load_images("digits"), load_images("digits")
    assert (len(data.train), len(data.valid), len(data.test)) == (1257, 270, 270)
    assert np.array_equal(data.train, again.train) and data.image_shape == (1, 32, 32)
    labels = np.concatenate([data.train_labels, data.valid_labels, data.test_labels])
    assert np.array_equal(np.bincount(labels), np.bincount(load_digits().target))
    # a 16 in the 8x8 source is 255 after scaling; bilinear upsampling keeps values within range
    assert data.train.max() == 255 and data.train.min() == 0

    def rows(x):
        return {bytes(r) for r in x.reshape(len(x), -1)}

    assert (
        len(rows(data.train) & rows(data.test)) <= 2
        and len(rows(data.train) & rows(data.valid)) <= 2
    )


def test_missing_files_say_what_where_and_how(tmp_path):
    with pytest.raises(RaekitError) as info:
        load_images("mnist")
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and "mnist.pkl.gz" in message
    assert str(dataset_dir("mnist")) in message and "run `raekit fetch mnist`" in message
    write_idx(tmp_path / IDX_FILES[0], np.zeros((10_001, 28, 28)))
    with pytest.raises(
        RaekitError, match="has no train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels"
    ):
        load_images("mnist", tmp_path)
    with pytest.raises(RaekitError, match="cs.toronto.edu/~kriz/cifar-10-binary.tar.gz") as info:
        load_images("cifar10", tmp_path)
    assert "data_batch_1.bin" in str(info.value)
    with pytest.raises(RaekitError, match="mmlab.ie.cuhk.edu.hk.*list_eval_partition.txt"):
        load_images("celeba", tmp_path)
    with pytest.raises(RaekitError, match="did you mean 'cifar10'"):
        load_images("cifar")


def test_a_corrupt_cached_file_is_reported_not_skipped():
    cache = dataset_dir("mnist")
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "mnist.pkl.gz").write_bytes(b"not gzip")
    with pytest.raises(RaekitError, match="mnist.pkl.gz is corrupt or truncated"):
        load_images("mnist")
    (cache / "mnist.pkl.gz").unlink()


def test_split_container_checks():
    good = np.zeros((2, 1, 32, 32), np.uint8)
    labels = np.zeros(2, np.int64)
    for bad, message in [
        (dict(train=np.zeros((2, 2, 32, 32), np.uint8)), "expected 1 or 3 channels, got 2"),
        (dict(valid=good[:0]), "valid: the split is empty"),
        (dict(train=good.astype(float)), "expected uint8"),
        (dict(test=good[:, 0]), "expected an \\(N, C, H, W\\) array"),
        (dict(test=np.zeros((2, 1, 28, 28), np.uint8)), "different image shapes"),
        (dict(train_labels=np.zeros(3, np.int64)), "3 labels for 2 images"),
        (dict(train_labels=np.zeros(2, np.float32)), "labels must be an int64 vector"),
    ]:
        with pytest.raises(RaekitError, match=message):
            ImageSplits(**{"name": "x", "train": good, "valid": good, "test": good, **bad})
    assert ImageSplits("x", good, good, good, labels, labels, labels).image_shape == (1, 32, 32)
