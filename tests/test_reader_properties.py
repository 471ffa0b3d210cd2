"""Property tests of raekit's file readers: random bytes, truncations and bit flips of IDX, CIFAR-10
binary, `mnist.pkl.gz`, SMILES and density files either read or raise RaekitError, never anything
else (no IndexError, struct.error, UnicodeDecodeError, MemoryError, RecursionError, ...)."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raekit.errors import RaekitError

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(
        struct.pack(">I", n) for n in array.shape
    )
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def mnist_pickle_bytes() -> bytes:
    rng = np.random.default_rng(0)
    splits = tuple(
        (rng.integers(0, 256, (n, 784)).astype(np.float32) / 256, rng.integers(0, 10, n))
        for n in (3, 2, 2)
    )
    return gzip.compress(pickle.dumps(splits, protocol=2))


def cifar_bytes(n: int = 2) -> bytes:
    rng = np.random.default_rng(0)
    records = rng.integers(0, 256, (n, 3073), dtype=np.uint8)
    records[:, 0] %= 10
    return records.tobytes()


def damaged(valid: bytes):
    """Random bytes, a truncation of `valid`, or `valid` with a few bytes overwritten."""
    cut = st.integers(0, len(valid)).map(lambda k: valid[:k])
    flips = st.lists(
        st.tuples(st.integers(0, max(len(valid) - 1, 0)), st.integers(0, 255)),
        min_size=1,
        max_size=8,
    ).map(lambda edits: _overwrite(valid, edits))
    return st.one_of(st.binary(max_size=4 * len(valid) + 64), cut, flips)


def _overwrite(data: bytes, edits) -> bytes:
    out = bytearray(data)
    for at, value in edits:
        out[at] = value
    return bytes(out)


def reads_or_raises_raekit_error(read, path: Path, data: bytes):
    path.write_bytes(data)
    try:
        return read(path)
    except RaekitError:
        return None


IDX_VALID = idx_bytes(np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4))


@SETTINGS
@given(data=st.one_of(damaged(IDX_VALID), damaged(gzip.compress(IDX_VALID))))
def test_idx_reader(tmp_path, data):
    from raekit.data.idx import read_idx

    array = reads_or_raises_raekit_error(read_idx, tmp_path / "images-idx3-ubyte", data)
    if array is not None:
        assert isinstance(array, np.ndarray) and array.ndim >= 1


def test_idx_reader_reads_what_was_written(tmp_path):
    from raekit.data.idx import read_idx

    for array in (
        np.arange(6, dtype=np.uint8).reshape(2, 3),
        np.linspace(-1, 1, 8).reshape(2, 2, 2),
    ):
        (tmp_path / "a").write_bytes(idx_bytes(array, 0x08 if array.dtype == np.uint8 else 0x0E))
        assert np.array_equal(read_idx(tmp_path / "a"), array)


@SETTINGS
@given(data=damaged(cifar_bytes()))
def test_cifar_batch_reader(tmp_path, data):
    from raekit.data.cifar import read_batch

    result = reads_or_raises_raekit_error(read_batch, tmp_path / "data_batch_1.bin", data)
    if result is not None:
        images, labels = result
        assert images.shape == (len(labels), 3, 32, 32) and labels.max() < 10


MNIST_VALID = mnist_pickle_bytes()
MNIST_RAW = gzip.decompress(MNIST_VALID)


@SETTINGS
@given(data=st.one_of(damaged(MNIST_VALID), damaged(MNIST_RAW).map(gzip.compress)))
def test_mnist_pickle_reader(tmp_path, data):
    from raekit.data.mnist_pickle import read_mnist_pickle

    result = reads_or_raises_raekit_error(read_mnist_pickle, tmp_path / "mnist.pkl.gz", data)
    if result is not None:
        assert all(x.dtype == np.uint8 and x.shape[1:] == (28, 28) for x, _ in result)


def test_mnist_pickle_reader_refuses_code(tmp_path):
    from raekit.data.mnist_pickle import read_mnist_pickle

    class Payload:
        def __reduce__(self):
            return (print, ("never",))

    (tmp_path / "m.pkl.gz").write_bytes(gzip.compress(pickle.dumps(Payload(), protocol=2)))
    with pytest.raises(RaekitError, match="refusing to unpickle .*print"):
        read_mnist_pickle(tmp_path / "m.pkl.gz")


SMILES_VALID = b"smiles\nCCO\n\nc1ccccc1\nCC(=O)N\n"


@SETTINGS
@given(data=damaged(SMILES_VALID), name=st.sampled_from(["m.smi", "m.csv", "m.smi.gz", "m.txt"]))
def test_smiles_reader_and_encoder(tmp_path, data, name):
    from helpers import encode_smiles_file
    from raekit.grammar.cfg import ZINC_GRAMMAR

    if name.endswith(".gz") and data[:2] != b"\x1f\x8b":
        data = gzip.compress(data)[: len(data) + 20]  # compressed, possibly cut short
    encoded = reads_or_raises_raekit_error(
        lambda p: encode_smiles_file(p, ZINC_GRAMMAR), tmp_path / name, data
    )
    if encoded is not None:
        assert len(encoded.rows) == len(encoded.indices) and all(line >= 1 for line in encoded.rows)


def test_smiles_lines_count_empty_lines(tmp_path):
    from helpers import encode_smiles_file
    from raekit.grammar.cfg import ZINC_GRAMMAR

    (tmp_path / "m.smi").write_text("CCO\n\n\nC" + "(C" * 400 + ")" * 400 + "\nc1ccccc1\n")
    with pytest.raises(RaekitError, match=r"line 4: nested too deeply"):
        encode_smiles_file(tmp_path / "m.smi", ZINC_GRAMMAR)


@pytest.fixture(scope="module")
def saved_densities(tmp_path_factory):
    from raekit.density import fit_density, save_density

    codes = np.random.default_rng(0).normal(size=(200, 3))
    folder = tmp_path_factory.mktemp("densities")
    stems = {}
    for kind, options in (("gaussian", {}), ("gmm", {"components": 2})):
        density, _ = fit_density(codes, kind, **options)
        stems[kind] = save_density(density, folder / kind)
    return {
        kind: (
            (stem.parent / (stem.name + ".json")).read_bytes(),
            (stem.parent / (stem.name + ".safetensors")).read_bytes(),
        )
        for kind, stem in stems.items()
    }


@SETTINGS
@given(
    kind=st.sampled_from(["gaussian", "gmm"]),
    which=st.sampled_from([0, 1]),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_density_reader(tmp_path, saved_densities, kind, which, seed, data):
    from raekit.density import load_density

    files = list(saved_densities[kind])
    files[which] = data.draw(damaged(files[which]))
    (tmp_path / f"{kind}.json").write_bytes(files[0])
    (tmp_path / f"{kind}.safetensors").write_bytes(files[1])
    try:
        density = load_density(tmp_path / kind)
    except RaekitError:
        return
    assert np.isfinite(density.score_samples(density.sample(4, seed=seed))).all()


def test_density_reader_names_swapped_arrays(tmp_path, saved_densities):
    from safetensors.numpy import load, save_file

    from raekit.density import load_density

    arrays = load(saved_densities["gmm"][1])
    arrays["means"], arrays["covariances"] = arrays["covariances"], arrays["means"]
    (tmp_path / "gmm.json").write_bytes(saved_densities["gmm"][0])
    save_file(arrays, tmp_path / "gmm.safetensors")
    with pytest.raises(RaekitError, match="is damaged"):
        load_density(tmp_path / "gmm")


def test_written_json_never_holds_nan(tmp_path):
    import json

    from raekit.io.jsonio import dumps, write_json

    value = {
        "a": float("nan"),
        "b": [np.float32(np.inf), 1.5, np.int64(3)],
        "c": np.array([1.0, -np.inf]),
    }
    assert json.loads(dumps(value)) == {"a": None, "b": [None, 1.5, 3], "c": [1.0, None]}
    write_json(tmp_path / "x.json", value)
    json.loads((tmp_path / "x.json").read_text(), parse_constant=lambda c: pytest.fail(c))
    with pytest.raises(TypeError):
        dumps({"bad": object()})
