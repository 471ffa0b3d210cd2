"""The variant table, the Appendix C nets and the preset weights."""

import pytest
import torch
from torch import nn

import raekit
from raekit.config import make_config
from raekit.config.loss_weights import OFFICIAL_WEIGHTS, converted_weights
from raekit.errors import RaekitError
from raekit.models import IMAGE_MODELS, build_model


@pytest.mark.parametrize("name", sorted(IMAGE_MODELS))
def test_every_variant_encodes_decodes_and_returns_named_terms(name):
    model = build_model(name, dataset="digits", preset="tiny")
    x = torch.rand(4, 1, 32, 32)
    terms = model.loss(x)
    assert set(terms) >= {"rec", "loss"}
    assert model.encode(x).shape == (4, 16)
    assert model.decode(torch.randn(4, 16)).shape == (4, 1, 32, 32)
    terms["loss"].backward()


def test_total_is_the_weighted_sum_of_terms():
    torch.manual_seed(0)
    model = build_model("rae-l2", dataset="digits", preset="tiny", beta=0.3, lam=0.02)
    terms = model.loss(torch.rand(5, 1, 32, 32))
    expected = terms["rec"] + 0.3 * terms["z_l2"] + 0.02 * terms["dec_l2"]
    assert float(terms["loss"]) == pytest.approx(float(expected), rel=1e-6)


def test_vae_encode_is_the_posterior_mean_and_deterministic():
    model = build_model("vae", dataset="digits", preset="tiny").eval()
    x = torch.rand(3, 1, 32, 32)
    mu, logvar = model.posterior(x)
    assert torch.equal(model.encode(x), mu) and torch.equal(model.encode(x), model.encode(x))
    assert logvar.shape == mu.shape and logvar.abs().max() <= 10.0


@pytest.mark.parametrize("shape,latent", [((1, 32, 32), 16), ((3, 32, 32), 128), ((3, 64, 64), 64)])
def test_appendix_c_shapes_at_paper_width(shape, latent):
    from raekit.nets import image_nets

    enc, dec = image_nets(shape, latent, 2 * latent, width=1.0)
    convs = [m for m in enc.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [128, 256, 512, 1024]
    assert all(c.kernel_size == ((5, 5) if shape[1] == 64 else (4, 4)) for c in convs)
    ups = [m.out_channels for m in dec.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert ups == ([512, 256, 128] if shape[1] == 64 else [512, 256])
    assert dec.fc.out_features == 8 * 8 * 1024
    assert enc(torch.rand(2, *shape)).shape == (2, 2 * latent)
    assert dec(torch.randn(2, latent)).shape == (2, *shape)


def test_width_multiplier_scales_channels():
    model = build_model("ae", dataset="mnist", preset="paper", width=0.25)
    convs = [m.out_channels for m in model.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert convs == [32, 64, 128, 256]


def test_spectral_norm_gives_unit_largest_singular_value():
    torch.manual_seed(0)
    model = build_model("rae-sn", dataset="digits", preset="tiny")
    model.train()
    for _ in range(30):  # power iterations run on each training forward
        model.decode(torch.randn(8, 16))
    layers = [m for m in model.decoder.modules() if hasattr(m, "parametrizations")]
    assert len(layers) == 4  # FC, two transposed convs and the final conv
    for layer in layers:
        w = layer.weight
        dim = 1 if isinstance(layer, nn.ConvTranspose2d) else 0
        matrix = w.transpose(0, dim).reshape(w.shape[dim], -1) if dim else w.reshape(w.shape[0], -1)
        assert float(torch.linalg.matrix_norm(matrix.detach(), ord=2)) == pytest.approx(
            1.0, abs=0.05
        )
    assert not any(hasattr(m, "parametrizations") for m in model.encoder.modules())


def test_spectral_norm_on_all_layers_option():
    model = build_model("rae-sn", dataset="digits", preset="tiny", sn_all_layers=True)
    assert any(hasattr(m, "parametrizations") for m in model.encoder.modules())


def test_mnist_rae_l2_weights_convert_from_the_official_config():
    beta, lam = converted_weights("rae-l2", "mnist")
    assert beta == pytest.approx(2 * 1e-4 * 1024 / 16) == pytest.approx(1.28e-2)
    assert lam == pytest.approx(1e-7 * 1024) == pytest.approx(1.024e-4)


# The official configuration in its own units (configurations/config.py), transcribed independently.
_OFFICIAL = {  # model -> dataset -> (latent weight, decoder weight)
    "vae": {"mnist": (0.312, 0), "cifar10": (0.024, 0), "celeba": (0.09024, 0)},
    "2svae": {"mnist": (0.312, 0), "cifar10": (0.024, 0), "celeba": (0.09024, 0)},
    "cv-vae": {"mnist": (0.039, 0), "cifar10": (9e-4, 0), "celeba": (0.01, 0)},
    "wae": {"mnist": (0.03, 0), "cifar10": (0.006, 0), "celeba": (100, 0)},
    "rae-gp": {"mnist": (1e-4, 5e-8), "cifar10": (9e-4, 0), "celeba": (1e-4, 1e-7)},
    "rae-l2": {"mnist": (1e-4, 1e-7), "cifar10": (1e-3, 1e-6), "celeba": (1e-4, 1e-7)},
    "rae-sn": {"mnist": (9e-3, 0), "cifar10": (0.03, 0), "celeba": (2.4e-3, 0)},
    "rae": {"mnist": (5e-4, 0), "cifar10": (1e-2, 0), "celeba": (1e-4, 0)},
    "ae": {"mnist": (0, 0), "cifar10": (0, 0), "celeba": (0, 0)},
}
_SHAPES = {"mnist": (1, 32, 32, 16), "cifar10": (3, 32, 32, 128), "celeba": (3, 64, 64, 64)}


def _expected_weights(model, dataset):
    """Multiply each official weight by the factor that turns its reconstruction into a per-image sum."""
    c, h, w, d = _SHAPES[dataset]
    hwc = c * h * w
    beta, lam = _OFFICIAL[model][dataset]
    if model in ("vae", "2svae", "cv-vae"):  # sum over H, W of a mean over channels
        return c * beta, 0.0
    if model == "wae":  # mean over H*W*C; CelebA: 0.05 * sum
        return (beta / 0.05 if dataset == "celeba" else beta * hwc), 0.0
    lam_factor = hwc / d if model == "rae-gp" else hwc  # the official GP is a mean over d
    return 2 * beta * hwc / d, lam * lam_factor


def test_official_table_matches_raekit_copy():
    assert OFFICIAL_WEIGHTS == _OFFICIAL


@pytest.mark.parametrize("model", sorted(_OFFICIAL))
@pytest.mark.parametrize("dataset", sorted(_SHAPES))
def test_paper_preset_uses_converted_official_weights(model, dataset):
    config = make_config(dataset, model, "paper")
    assert (config.beta, config.lam) == pytest.approx(_expected_weights(model, dataset), rel=1e-12)
    assert config.width == 1.0 and config.batch_size == 100 and config.lr == 1e-3
    assert (
        config.epochs == (70 if dataset == "celeba" else 100)
        and config.latent_dim == _SHAPES[dataset][3]
    )
    assert config.gp_estimator == "official"


@pytest.mark.parametrize(
    "model,dataset,expected",
    [
        ("vae", "mnist", (0.312, 0)),
        ("vae", "cifar10", (0.072, 0)),
        ("vae", "celeba", (0.27072, 0)),
        ("cv-vae", "mnist", (0.039, 0)),
        ("cv-vae", "cifar10", (2.7e-3, 0)),
        ("cv-vae", "celeba", (0.03, 0)),
        ("wae", "mnist", (30.72, 0)),
        ("wae", "cifar10", (18.432, 0)),
        ("wae", "celeba", (2000, 0)),
        ("rae-gp", "mnist", (1.28e-2, 3.2e-6)),
        ("rae-gp", "cifar10", (4.32e-2, 0)),
        ("rae-gp", "celeba", (3.84e-2, 1.92e-5)),
        ("2svae", "cifar10", (0.072, 0)),
    ],
)
def test_converted_weights_equal_the_hand_computed_table(model, dataset, expected):
    assert converted_weights(model, dataset) == pytest.approx(expected, rel=1e-12)


def test_custom_encoder_and_decoder_are_used():
    enc = nn.Sequential(nn.Flatten(), nn.Linear(1024, 16))
    dec = nn.Sequential(nn.Linear(16, 1024), nn.Sigmoid(), nn.Unflatten(1, (1, 32, 32)))
    model = build_model("rae-l2", dataset="digits", encoder=enc, decoder=dec)
    assert model.encoder is enc and model.decoder is dec
    assert float(model.loss(torch.rand(2, 1, 32, 32))["dec_l2"]) == pytest.approx(
        float(dec[0].weight.pow(2).sum())
    )


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(name="rea-l2"), "did you mean 'rae-l2'"),
        (dict(name="ae", dataset="mnsit"), "did you mean 'mnist'"),
        (dict(name="ae", preset="papr"), "did you mean 'paper'"),
        (dict(name="ae", widht=2), "did you mean 'width'"),
    ],
)
def test_unknown_names_suggest_the_close_one(kwargs, message):
    with pytest.raises(RaekitError, match=message):
        build_model(**kwargs)


def test_public_api_is_importable_from_the_package():
    assert (
        raekit.build_model is build_model and callable(raekit.train) and callable(raekit.load_run)
    )


@pytest.mark.parametrize("name", ["vae", "cv-vae"])
def test_k_sample_reconstruction_is_the_mean_of_single_sample_terms(name):
    from raekit.models import losses

    model = build_model(name, dataset="digits", preset="tiny", mc_samples=4).eval()
    x = torch.rand(3, 1, 32, 32)
    torch.manual_seed(5)
    terms = model.loss(x)
    torch.manual_seed(5)  # the same noise, drawn as one (k, N, d) block
    mu, logvar = model.posterior(x)
    noise = torch.randn(4, *mu.shape)
    scale = (0.5 * logvar).exp() if name == "vae" else model.cv_sigma
    singles = [losses.sum_squared_error(model.decode(mu + noise[i] * scale), x) for i in range(4)]
    assert float(terms["rec"]) == pytest.approx(float(torch.stack(singles).mean()), rel=1e-5)


def test_k_sample_reconstruction_variance_shrinks_like_one_over_k():
    model = build_model("vae", dataset="digits", preset="tiny").eval()
    x = torch.rand(2, 1, 32, 32)
    variances = {}
    with torch.no_grad():
        for k in (1, 8):
            model.mc_samples = k
            draws = torch.stack([model.loss(x)["rec"] for _ in range(300)])
            variances[k] = float(draws.var())
    assert variances[8] == pytest.approx(variances[1] / 8, rel=0.35)


def test_mc_samples_must_be_positive():
    with pytest.raises(RaekitError, match="mc_samples must be at least 1"):
        build_model("vae", mc_samples=0)
