"""Data-parallel training under torchrun (2 CPU processes, gloo) against one process doing the same."""

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from ddp_worker import CODES_N, GRAD_BATCH, codes_model, launch
from raekit import runs
from raekit.config import make_config
from raekit.data import load_images
from raekit.generation import encode_images
from raekit.models.build import build_from_config
from raekit.runs import checkpoint
from raekit.training import evaluate_loss, train

pytestmark = pytest.mark.slow
# The worker's defaults: rae-l2 (deterministic), 200 training images, global batch 50 = 2 x 25,
# 2 epochs, so 8 Adam steps at lr 1e-3.
CONFIG = make_config(
    "digits", "rae-l2", "tiny", epochs=2, batch_size=50, train_limit=200, valid_limit=60
)
STEPS, LR = 8, 1e-3


def _env(tmp, **extra):
    # DDP prints a harmless stride notice for 1-channel convolutions on every step: keep logs readable.
    return {"PYTHONWARNINGS": "ignore", "RAEKIT_CACHE": str(tmp / "cache"), **extra}


def _check(result):
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result


def _equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _final_state(run_dir):
    """Model state in the run's newest checkpoint (the weights after the last step)."""
    model = build_from_config(runs.read_config(run_dir))
    checkpoint.load_checkpoint(run_dir / runs.CHECKPOINTS, model)
    return model.state_dict()


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    """A clean 2-process run; each rank also saves the weights it ended with."""
    root = tmp_path_factory.mktemp("ddp")
    (root / "states").mkdir()
    _check(
        launch(
            ["train", str(root / "run")],
            nproc=2,
            **_env(root, RAEKIT_WORKER_STATE_DIR=str(root / "states")),
        )
    )
    return root


def test_ranks_end_with_identical_weights(ddp_run):
    rank0, rank1 = (load_file(ddp_run / "states" / f"rank-{r}.safetensors") for r in (0, 1))
    assert _equal(rank0, rank1)
    saved = _final_state(ddp_run / "run")
    assert _equal(rank0, saved)
    assert any(k.endswith("running_var") for k in rank0)  # batch-norm buffers were compared too


def _single_gradients(dtype, images):
    torch.manual_seed(CONFIG.seed)
    model = build_from_config(CONFIG).to(dtype)
    model.loss(images.to(dtype))["loss"].backward()
    return model


def _relative(a, b):
    return ((a.double() - b.double()).norm() / b.double().norm()).item()


def test_one_step_gradients_of_2_x_half_batch_equal_1_x_full_batch(tmp_path):
    _check(launch(["grad", str(tmp_path)], nproc=2, **_env(tmp_path)))
    x = torch.from_numpy(load_images("digits").train[:GRAD_BATCH]).float() / 255
    for dtype, name in ((torch.float64, "float64"), (torch.float32, "float32")):
        ranks = [load_file(tmp_path / f"grad-rank-{r}-{name}.safetensors") for r in (0, 1)]
        assert _equal(*ranks)  # DDP left every rank the same averaged gradient
        model = _single_gradients(dtype, x)
        for key, p in model.named_parameters():
            got = ranks[0][f"grad.{key}"]
            if dtype == torch.float64:  # exact maths: agreement to rounding
                assert torch.allclose(got, p.grad, rtol=1e-9, atol=1e-12 * p.grad.abs().max()), key
            else:  # float32 sums in another order: entries near zero lose relative precision
                assert _relative(got, p.grad) < 1e-4, key
                assert torch.allclose(got, p.grad, rtol=1e-4, atol=1e-4 * p.grad.abs().max()), key
        for key, b in model.named_buffers():  # running statistics of the global batch
            assert torch.allclose(ranks[0][f"buffer.{key}"], b, rtol=1e-5, atol=1e-7), key


def test_per_rank_batch_norm_would_be_caught():
    """Without global statistics (each half normalised alone) the gradient is far from the full
    batch's, so the comparison above can tell the two apart."""
    x = torch.from_numpy(load_images("digits").train[:GRAD_BATCH]).double() / 255
    full = _single_gradients(torch.float64, x)
    halves = [_single_gradients(torch.float64, x[r::2]) for r in (0, 1)]
    errors = [
        _relative((h0.grad + h1.grad) / 2, f.grad)
        for h0, h1, f in zip(halves[0].parameters(), halves[1].parameters(), full.parameters())
    ]
    assert max(errors) > 1e-3


def _gap(a: dict, b: dict) -> float:
    return max(
        (a[k].double() - b[k].double()).abs().max().item() for k in a if a[k].is_floating_point()
    )


def test_short_float64_run_matches_one_process(tmp_path, monkeypatch):
    """The whole loop (sharding, loss and gradient averaging, global batch norm, sharded validation,
    checkpoints) in float64, 2 x 25 against 1 x 50 over 8 Adam steps: rounding sits near 1e-16, and
    even where Adam divides a near-zero gradient by its RMS the weights agree to ~1e-12, while any
    real discrepancy (a wrong shard, sum for mean, per-rank statistics) moves weights by ~lr = 1e-3."""
    (tmp_path / "states").mkdir()
    _check(
        launch(
            ["train", str(tmp_path / "ddp")],
            nproc=2,
            **_env(
                tmp_path,
                RAEKIT_WORKER_FLOAT64="1",
                RAEKIT_WORKER_STATE_DIR=str(tmp_path / "states"),
            ),
        )
    )
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        single = _final_state(train(CONFIG, tmp_path / "single", data=load_images("digits")))
    finally:
        torch.set_default_dtype(default)
    ddp = load_file(tmp_path / "states" / "rank-0.safetensors")
    assert ddp["encoder.fc.weight"].dtype == torch.float64 and ddp.keys() == single.keys()
    assert _gap(ddp, single) < 1e-9
    assert ddp["encoder.features.1.num_batches_tracked"].item() == STEPS


def test_short_float32_run_matches_one_process_within_adam_noise(ddp_run, tmp_path):
    """The same in float32. Summing in another order changes gradients by ~1e-6 relative (see the
    gradient test), and Adam turns noise in near-zero gradients into steps of up to lr, so single
    weights drift apart by up to a few 1e-3 after 8 steps (another batch order in one process does
    the same). Hence: every loss in the log agrees to 2e-4, and no weight is further than
    2 * lr * steps (two runs stepping a weight by lr in opposite directions each time)."""
    single = _final_state(train(CONFIG, tmp_path / "single", data=load_images("digits")))
    ddp = load_file(ddp_run / "states" / "rank-0.safetensors")
    assert _gap(ddp, single) < 2 * LR * STEPS
    ours, theirs = runs.read_metrics(tmp_path / "single"), runs.read_metrics(ddp_run / "run")
    assert len(ours) == len(theirs) == CONFIG.epochs
    for a, b in zip(ours, theirs):
        for key in ("train_loss", "train_rec", "valid_loss", "valid_rec"):
            assert a[key] == pytest.approx(b[key], rel=2e-4), key


def test_elastic_restart_after_sigkill_ends_with_the_clean_weights(ddp_run, tmp_path):
    """Rank 1 SIGKILLs itself mid-epoch 2, once; torchrun restarts both ranks, which resume from
    the epoch-1 checkpoint and end with the clean run's exact weights."""
    marker = tmp_path / "killed-once"
    (tmp_path / "states").mkdir()
    result = _check(
        launch(
            ["train", str(tmp_path / "run")],
            nproc=2,
            max_restarts=1,
            **_env(
                tmp_path,
                RAEKIT_WORKER_STATE_DIR=str(tmp_path / "states"),
                RAEKIT_WORKER_KILL="1:2:1",
                RAEKIT_WORKER_MARKER=str(marker),
            ),
        )
    )
    assert marker.exists() and "exitcode: -9" in result.stderr  # the kill happened, then a restart
    for rank in (0, 1):
        assert _equal(
            load_file(tmp_path / "states" / f"rank-{rank}.safetensors"),
            load_file(ddp_run / "states" / f"rank-{rank}.safetensors"),
        )
    assert _equal(
        load_file(tmp_path / "run" / "model.safetensors"),
        load_file(ddp_run / "run" / "model.safetensors"),
    )
    assert [r["valid_loss"] for r in runs.read_metrics(tmp_path / "run")] == [
        r["valid_loss"] for r in runs.read_metrics(ddp_run / "run")
    ]


@pytest.fixture(scope="module")
def two_rank_codes(tmp_path_factory):
    """CODES_N digits encoded, and the streaming GMM fitted, by 2 processes."""
    out = tmp_path_factory.mktemp("codes")
    _check(launch(["codes", str(out)], nproc=2, **_env(out)))
    return out, [np.load(out / f"rank-{r}.npz") for r in (0, 1)]


def test_distributed_encoding_returns_every_code_once_in_order(two_rank_codes):
    out, ranks = two_rank_codes
    expected = encode_images(codes_model(), load_images("digits").train[:CODES_N])
    assert expected.shape == (CODES_N, CONFIG.latent_dim)
    assert np.array_equal(ranks[0]["codes"], ranks[1]["codes"])  # every rank reads all codes
    np.testing.assert_allclose(ranks[0]["codes"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.load(out / "codes.npy"), expected, rtol=1e-5, atol=1e-6)
    assert not list(out.glob(".*"))  # the partial file was renamed, not left behind


def test_streaming_gmm_matches_scikit_learn_and_one_process(two_rank_codes):
    from sklearn.mixture import GaussianMixture

    from raekit.density.streaming import fit_gmm_streaming

    out, ranks = two_rank_codes
    for key in ("weights", "means", "covariances", "n_iter"):
        assert np.array_equal(ranks[0][key], ranks[1][key]), key  # identical sums on every rank
    one = fit_gmm_streaming(out / "codes.npy", chunk=1000, components=4)
    reference = GaussianMixture(4, random_state=0).fit(np.load(out / "codes.npy"))
    assert ranks[0]["n_iter"] == one.n_iter_ == reference.n_iter_
    for fitted, name in ((one, "one process"), (reference, "scikit-learn")):
        for key in ("weights", "means", "covariances"):
            np.testing.assert_allclose(
                ranks[0][key],
                getattr(fitted, key + "_"),
                rtol=1e-7,
                atol=1e-10,
                err_msg=f"{key} vs {name}",
            )


def test_fit_density_stream_under_torchrun_saves_the_one_process_gmm(ddp_run):
    from raekit.density import load_density
    from raekit.generation import fit_run_density

    run = ddp_run / "run"
    result = _check(
        launch(
            ["cli", "fit-density", str(run), "--components", "3", "--stream"],
            nproc=2,
            **_env(ddp_run),
        )
    )
    assert result.stdout.count('"world_size": 2') == 1  # rank 0 alone reports
    streamed = load_density(run / "densities" / "gmm-3")
    in_memory, _ = fit_run_density(run, kind="gmm", components=3, save=False)
    np.testing.assert_allclose(streamed.means_, in_memory.means_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(streamed.covariances_, in_memory.covariances_, rtol=1e-6, atol=1e-8)


def test_validation_smaller_than_one_batch_per_rank(tmp_path):
    """30 validation images, batch 50: rank 1 has no validation batch and still joins the sums."""
    _check(
        launch(
            ["train", str(tmp_path / "run"), "epochs=1", "valid_limit=30"],
            nproc=2,
            **_env(tmp_path),
        )
    )
    logged = runs.read_metrics(tmp_path / "run")[-1]["valid_loss"]
    model, config = runs.load_run(tmp_path / "run")
    valid = torch.from_numpy(load_images("digits").valid[:30])
    assert logged == pytest.approx(evaluate_loss(model, valid, 50, config.seed)["loss"], rel=1e-5)
