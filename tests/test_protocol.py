"""Table 1's protocol (Appendix D: REC and Interp. from validation images, against the test set)
and the official code's evaluation choices."""

import numpy as np
import pytest
import torch

import raekit
from helpers import tiny_digits
from raekit.config import make_config
from raekit.density import make_density
from raekit.errors import RaekitError
from raekit.generation import encode_images, reconstruct, run_density_options
from raekit.paper.run_scores import eval_images, evaluate_run
from raekit.runs import Run, load_run
from raekit.training import train


@pytest.mark.parametrize(
    "preset,split", [("paper", "valid"), ("cpu", "valid"), ("tiny", "valid"), ("official", "valid")]
)
def test_rec_and_interp_images_follow_the_presets_protocol(preset, split):
    data = tiny_digits()
    config = make_config("digits", "rae", preset)
    assert np.array_equal(eval_images(config, data), getattr(data, split))


@pytest.mark.parametrize("split", ["valid", "test"])
def test_evaluate_reconstructs_and_interpolates_the_protocols_images(tmp_path, monkeypatch, split):
    import raekit.paper.run_scores as ev

    data = tiny_digits()
    run = train(
        make_config("digits", "rae", "tiny", epochs=1, width=1 / 32, eval_images=split),
        tmp_path / "rae",
        data=data,
    )
    seen = {}
    real = ev._reconstructions

    def capture(run, images, *rest):
        seen["rec"] = images
        return real(run, images, *rest)

    def capture_slerp(z0, z1, t):
        seen["pairs"] = (z0, z1)
        return real_slerp(z0, z1, t)

    import raekit.generation.interpolate

    real_slerp = raekit.generation.interpolate.slerp
    monkeypatch.setattr(ev, "_reconstructions", capture)
    monkeypatch.setattr(raekit.generation.interpolate, "slerp", capture_slerp)
    result = evaluate_run(Run.of(run, data), n=40)
    images = data.test if split == "test" else data.valid
    rows = {row.tobytes() for row in images}
    assert seen["rec"].shape[0] == 40 and all(row.tobytes() in rows for row in seen["rec"])
    codes = encode_images(load_run(run)[0], images)
    for z in seen["pairs"]:
        assert len(z) == 40 and np.abs(z[:, None] - codes[None]).max(-1).min(1).max() < 1e-6
    assert result["protocol"] == {
        "eval_images": split,
        "rec_sampled": False,
        "rec_second_stage": False,
    }


def test_sampled_reconstructions_decode_posterior_draws(one_thread):
    images = np.random.default_rng(0).integers(0, 256, (64, 1, 32, 32), dtype=np.uint8)
    cv = raekit.build_model("cv-vae", "digits", "tiny").eval()
    codes = []
    decode = cv.decode
    cv.decode = lambda z: codes.append(z) or decode(z)
    mean_rec = reconstruct(cv, images)
    sampled = reconstruct(cv, images, sampled=True, seed=3)
    mu, z = codes[0], codes[1]
    assert not np.allclose(mean_rec, sampled)
    assert float((z - mu).std()) == pytest.approx(cv.cv_sigma, rel=0.05)  # the CV-VAE's fixed sigma
    assert np.array_equal(sampled, reconstruct(cv, images, sampled=True, seed=3))
    rae = raekit.build_model("rae", "digits", "tiny").eval()
    assert np.array_equal(reconstruct(rae, images, sampled=True), reconstruct(rae, images))


def test_density_settings_come_from_the_run_config():
    official = make_config("celeba", "cv-vae", "official")
    assert run_density_options(official, "gmm", {}) == {"components": 1, "max_iter": 2000}
    assert run_density_options(make_config("mnist", "rae", "paper"), "gmm", {"components": 5}) == {
        "components": 5,
        "max_iter": 100,
    }
    two = run_density_options(make_config("mnist", "2svae", "official"), "two-stage", {})
    assert two == {
        "dataset": "mnist",
        "hidden": 1024,
        "layers": 2,
        "epochs": 100,
        "batch_size": 64,
        "lr": 1e-4,
        "schedule": "plateau",
        "sample_noise": False,
    }
    # The paper presets keep the two-stage density's own defaults.
    paper = run_density_options(make_config("mnist", "2svae", "cpu"), "two-stage", {})
    density = make_density("two-stage", **paper)
    assert density.options == {**make_density("two-stage").options, "dataset": "mnist"}


def test_plateau_schedule_halves_the_rate_and_reconstruct_uses_the_posterior(rng):
    codes = rng.normal(size=(400, 3)) * [1.0, 2.0, 0.5] + 4
    two = make_density(
        "two-stage",
        kl_weight=0.05,
        hidden=16,
        layers=2,
        epochs=12,
        batch_size=64,
        lr=3e-2,
        schedule="plateau",
        sample_noise=False,
    ).fit(codes)
    rates = np.array(two.lr_history_)
    assert rates[0] == 3e-2 and np.all(np.diff(rates) <= 0)
    assert np.allclose(
        np.log2(rates[0] / rates), np.round(np.log2(rates[0] / rates))
    )  # only halvings
    out = two.reconstruct(codes, seed=1)
    generator = torch.Generator().manual_seed(1)
    z = torch.as_tensor((codes - two.shift_) / two.scale_, dtype=torch.float32)
    with torch.no_grad():
        mu, log_std = two.net_.posterior(z)
        u = mu + torch.randn(mu.shape, generator=generator) * torch.exp(log_std)
        expected = two.net_.decoder(u).double().numpy() * two.scale_ + two.shift_
    assert np.allclose(out, expected) and out.shape == codes.shape
    # sample_noise=False: samples are the decoder's mean at u ~ N(0, I).
    u = np.random.default_rng(5).standard_normal((7, 3))
    with torch.no_grad():
        means = two.net_.decoder(torch.as_tensor(u, dtype=torch.float32)).double().numpy()
    assert np.allclose(two.sample(7, seed=5), means * two.scale_ + two.shift_)
    with pytest.raises(RaekitError, match="schedule"):
        make_density("two-stage", schedule="step")
