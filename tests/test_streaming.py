"""Codes on disk, contiguous rank blocks and the streaming GMM, in one process (the 2-process runs
are in test_distributed.py)."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.mixture import GaussianMixture

from raekit.cli import main
from raekit.config import make_config
from raekit.density import load_density
from raekit.density.gmm import GMMDensity
from raekit.density.io import open_codes
from raekit.density.streaming import fit_gmm_streaming, mean_log_likelihood
from raekit.distributed import Context, block
from raekit.errors import RaekitError
from raekit.generation import codes as codes_module
from raekit.generation import encode_images, fit_run_density
from raekit.generation.codes import encode_to_file
from raekit.models import build_model
from raekit.training import train


@given(n=st.integers(0, 500), world=st.integers(1, 9))
def test_rank_blocks_tile_the_items_in_order(n, world):
    blocks = [block(n, Context(rank, world)) for rank in range(world)]
    assert [i for b in blocks for i in b] == list(range(n))
    assert max(map(len, blocks)) - min(map(len, blocks)) <= 1


def _clusters(n=1500, d=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[4.0, 0, 0], [-4.0, 1, 0], [0, 5.0, -2]])[:, :d]
    labels = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    return centres[labels] + rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * 0.6


def test_streaming_fit_equals_the_in_memory_fit_whatever_the_chunk():
    x = _clusters()
    whole = GMMDensity(components=3).fit(x)
    for chunk in (1, 77, 10_000):
        streamed = fit_gmm_streaming(x, chunk=chunk, components=3)
        assert streamed.n_iter_ == whole.n_iter_
        np.testing.assert_allclose(streamed.means_, whole.means_, rtol=1e-10)
        np.testing.assert_allclose(streamed.covariances_, whole.covariances_, rtol=1e-9, atol=1e-12)


def test_streaming_fit_from_a_file_equals_scikit_learn_from_the_same_start(tmp_path):
    x = _clusters(d=2)
    np.save(tmp_path / "codes.npy", x)
    start = dict(
        weights_init=[0.2, 0.3, 0.5],
        means_init=[[1.0, 0], [-1, 0], [0, 1]],
        precisions_init=np.stack([np.eye(2)] * 3),
    )
    streamed = fit_gmm_streaming(tmp_path / "codes.npy", chunk=100, components=3, tol=1e-6, **start)
    reference = GaussianMixture(3, tol=1e-6, **start).fit(x)
    assert streamed.n_iter_ == reference.n_iter_ and streamed.converged_
    np.testing.assert_allclose(streamed.weights_, reference.weights_, rtol=1e-7)
    np.testing.assert_allclose(streamed.means_, reference.means_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(streamed.covariances_, reference.covariances_, rtol=1e-7, atol=1e-9)
    assert mean_log_likelihood(streamed, open_codes(tmp_path / "codes.npy"), 64) == pytest.approx(
        reference.score(x), rel=1e-10
    )


def test_k_means_start_on_a_subsample_still_finds_the_clusters():
    x = _clusters(n=4000)
    sampled = fit_gmm_streaming(x, chunk=500, init_sample=300, components=3)
    whole = GMMDensity(components=3).fit(x)
    assert sampled.score(x) == pytest.approx(whole.score(x), abs=1e-3)


def test_bad_codes_give_clear_errors(tmp_path):
    x = _clusters()
    x[1234, 1] = np.nan
    np.save(tmp_path / "nan.npy", x)
    with pytest.raises(RaekitError, match="row 1234 holds NaN"):
        fit_gmm_streaming(tmp_path / "nan.npy", chunk=100, init_sample=50, components=3)
    (tmp_path / "text.npy").write_text("not numbers")
    np.save(tmp_path / "flat.npy", np.zeros(5))
    for name, message in (
        ("missing.npy", "not found"),
        ("text.npy", "not a .npy"),
        ("flat.npy", r"\(N, d\)"),
    ):
        with pytest.raises(RaekitError, match=message):
            open_codes(tmp_path / name)
    with pytest.raises(RaekitError, match="fewer than the 3"):
        fit_gmm_streaming(x[:2], components=3)


@pytest.fixture(scope="module")
def model_and_images():
    from raekit.data import load_images

    return build_model("rae", dataset="digits", width=0.125).eval(), load_images("digits").train[
        :203
    ]


def test_codes_file_holds_the_codes_and_no_partial_file(model_and_images, tmp_path):
    model, images = model_and_images
    path = encode_to_file(model, images, tmp_path / "codes" / "train.npy", batch_size=50)
    expected = encode_images(model, images)
    np.testing.assert_allclose(open_codes(path), expected, rtol=1e-6, atol=1e-7)
    assert [p.name for p in path.parent.iterdir()] == ["train.npy"]


def test_a_crash_while_encoding_leaves_no_codes_file(model_and_images, tmp_path, monkeypatch):
    model, images = model_and_images
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return encode_images(*args, **kwargs)

    monkeypatch.setattr(codes_module, "encode_images", failing)
    with pytest.raises(KeyboardInterrupt):
        encode_to_file(model, images, tmp_path / "train.npy", batch_size=50)
    assert not (tmp_path / "train.npy").exists()


def test_fit_density_stream_saves_the_same_gmm_as_the_in_memory_fit(tmp_path, capsys):
    run = train(make_config("digits", "rae", "tiny", epochs=1), tmp_path / "run")
    capsys.readouterr()
    assert (
        main(
            [
                "fit-density",
                str(run),
                "--density",
                "gmm",
                "--components",
                "4",
                "--stream",
                "--chunk",
                "100",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert (
        report["n_train"] == 1257
        and report["world_size"] == 1
        and np.isfinite(report["valid_loglik"])
    )
    streamed = load_density(run / "densities" / "gmm-4")
    in_memory, memory_report = fit_run_density(run, kind="gmm", components=4, save=False)
    np.testing.assert_allclose(streamed.means_, in_memory.means_, rtol=1e-8, atol=1e-10)
    assert report["valid_loglik"] == pytest.approx(memory_report["valid_loglik"], rel=1e-9)
    assert open_codes(run / "codes" / "valid.npy").shape[0] == memory_report["n_valid"]
    assert main(["fit-density", str(run), "--density", "gaussian", "--stream"]) == 2
    assert "--stream fits the gmm density only" in capsys.readouterr().err
