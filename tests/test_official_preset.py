"""The `official` preset against facts transcribed from the official RAE code, and every preset's
round trip. Expected values are written out here independently of raekit.config.official."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import raekit
from raekit.config import IMAGE_SHAPES, make_config
from raekit.config.loss_weights import OFFICIAL_WEIGHTS, converted_weights
from raekit.config.presets import PRESETS
from raekit.errors import RaekitError
from raekit.models import IMAGE_MODELS
from raekit.models.losses import output_gradient_penalty
from raekit.nets.image import SameConvTranspose2d

RAE_FAMILY = ("ae", "rae", "rae-l2", "rae-gp", "rae-sn")
VAE_FAMILY = ("vae", "cv-vae", "2svae")


def _official_training(dataset, model):
    """(lr, batch, epochs) read from the official model files' Adam(lr=...) and configurations/config.py."""
    if model in RAE_FAMILY:
        lr = 1e-3 if dataset == "celeba" else 5e-4  # rae_celeba.py / rae_mnist.py
    elif model in VAE_FAMILY:
        lr = 1e-4  # std_vae/get_vae_given_enc_dec.py
    else:
        lr = 1e-3  # wae_mmd/get_wae_given_enc_dec.py
    batch = 1000 if (dataset, model) in (("celeba", "vae"), ("celeba", "2svae")) else 100
    epochs = (
        70
        if dataset == "celeba" or dataset == "cifar10" and model in ("wae", "cv-vae", "rae-gp")
        else 100
    )
    return lr, batch, epochs


@pytest.mark.parametrize("model", IMAGE_MODELS)
@pytest.mark.parametrize("dataset", ["mnist", "cifar10", "celeba"])
def test_official_preset_follows_the_official_files(dataset, model):
    c = make_config(dataset, model, "official")
    assert (c.lr, c.batch_size, c.epochs) == _official_training(dataset, model)
    assert (c.beta, c.lam) == converted_weights(
        model, dataset
    )  # the weights are shared with `paper`
    assert (
        c.net == "official" and c.sn_all_layers and c.width == 1.0 and c.gp_estimator == "official"
    )
    assert c.scale_input == (dataset != "celeba")
    assert c.l2_layers == ("all" if dataset == "celeba" else "transposed")
    assert c.filters == (64 if (dataset, model) == ("celeba", "cv-vae") else 128)
    assert c.gmm_components == (1 if (dataset, model) == ("celeba", "cv-vae") else 10)
    assert c.input_noise == (0.01 if (dataset, model) == ("celeba", "wae") else 0.0)
    assert (
        c.gmm_max_iter == 2000 and c.eval_images == "valid" and c.rec_sampled and c.rec_second_stage
    )
    assert (
        c.two_stage_hidden,
        c.two_stage_layers,
        c.two_stage_epochs,
        c.two_stage_batch,
        c.two_stage_lr,
        c.two_stage_schedule,
        c.two_stage_sample_noise,
    ) == (1024, 2, 100, 64, 1e-4, "plateau", False)


@pytest.mark.parametrize("preset", ["paper", "cpu", "tiny"])
def test_paper_presets_keep_the_papers_choices_and_tables_caption(preset):
    c = make_config("mnist", "rae-l2", preset)
    assert (c.net, c.l2_layers, c.scale_input, c.filters, c.input_noise, c.sn_all_layers) == (
        "paper",
        "all",
        False,
        128,
        0.0,
        False,
    )
    assert (c.gmm_components, c.gmm_max_iter, c.lr, c.batch_size) == (10, 100, 1e-3, 100)
    assert c.eval_images == "valid" and not c.rec_sampled and not c.rec_second_stage


def test_official_width_override_and_bad_values():
    assert make_config("mnist", "vae", "official", width=0.125).width == 0.125
    with pytest.raises(RaekitError, match="unknown net 'keras'"):
        make_config("mnist", "vae", "official", net="keras")
    with pytest.raises(RaekitError, match="eval_images"):
        make_config("mnist", "vae", "paper", eval_images="train")
    with pytest.raises(RaekitError, match="sequence"):
        make_config("expressions", "grae", "official")


def test_official_gp_times_its_lambda_is_hwc_times_the_official_expression():
    """Official (models/rae/loss_functions.py): lam_off * mean over batch and d of
    (d/dz sum(D(z)^2))^2, against a reconstruction that is a mean over H*W*C."""
    torch.manual_seed(0)
    c, h, w = IMAGE_SHAPES["mnist"]
    d = 16
    decoder = nn.Sequential(
        nn.Linear(d, 32),
        nn.Tanh(),
        nn.Linear(32, c * h * w),
        nn.Sigmoid(),
        nn.Unflatten(1, (c, h, w)),
    )
    z = torch.randn(5, d, requires_grad=True)
    raekit_term = converted_weights("rae-gp", "mnist")[1] * output_gradient_penalty(decoder(z), z)
    # Independent: one Jacobian per sample of sum_pixels D(z)^2, then the official mean.
    per_sample = torch.stack(
        [torch.func.jacrev(lambda v: decoder(v[None]).pow(2).sum())(zi) for zi in z.detach()]
    )
    lam_off = OFFICIAL_WEIGHTS["rae-gp"]["mnist"][1]
    official_term = lam_off * per_sample.pow(2).mean()
    assert float(raekit_term.detach()) == pytest.approx(c * h * w * float(official_term), rel=1e-5)


@pytest.mark.parametrize(
    "dataset,expected",
    [
        ("mnist", {"blocks.0", "blocks.3", "blocks.6"}),  # the three Conv2DTranspose kernels
        ("cifar10", {"blocks.0", "blocks.3", "blocks.6"}),
        (
            "celeba",
            {"fc", "blocks.0", "blocks.3", "blocks.6", "blocks.9"},
        ),  # + the Dense, all four transposed
    ],
)
def test_official_l2_set_is_exactly_the_official_layers(dataset, expected):
    model = raekit.build_model("rae-l2", dataset, "official", width=0.0625)
    weighted = {
        name
        for name, m in model.decoder.named_modules()
        if isinstance(m, (nn.Linear, nn.ConvTranspose2d))
    }
    assert expected <= weighted
    by_name = dict(model.decoder.named_modules())
    hand = sum(float(by_name[name].weight.pow(2).sum()) for name in expected)
    everything = sum(float(by_name[name].weight.pow(2).sum()) for name in weighted)
    got = float(model.loss(torch.rand(2, *IMAGE_SHAPES[dataset]))["dec_l2"])
    assert got == pytest.approx(hand, rel=1e-6)
    if dataset != "celeba":
        assert got < everything  # the Dense is left out


def _keras_trainable(dataset, filters, latent, encoder_outputs):
    """Trainable parameters of the official Keras nets, layer by layer (rae_mnist.py / rae_celeba.py):
    4 x [Conv2D(bias) + BN(gamma, beta)] -> Dense; Dense(8*8*1024) -> reshape -> transposed convs with
    BN -> Conv2DTranspose to the channels. VAE encoders add a second Dense(d) head (log sigma)."""
    c, h, _ = IMAGE_SHAPES[dataset]
    k = 5 if dataset == "celeba" else 4
    enc, cin = 0, c
    for cout in (filters, 2 * filters, 4 * filters, 8 * filters):
        enc += k * k * cin * cout + cout + 2 * cout
        cin = cout
    enc += (h // 16) ** 2 * cin * encoder_outputs + encoder_outputs
    dec = latent * 8 * 8 * 1024 + 8 * 8 * 1024
    ups = (4 * filters, 2 * filters, filters) if dataset == "celeba" else (4 * filters, 2 * filters)
    cin = 1024
    for cout in ups:
        dec += k * k * cin * cout + cout + 2 * cout
        cin = cout
    dec += k * k * cin * c + c
    return enc, dec


@pytest.mark.parametrize(
    "dataset,model",
    [
        ("mnist", "rae"),
        ("mnist", "vae"),
        ("mnist", "rae-sn"),
        ("cifar10", "wae"),
        ("celeba", "rae-l2"),
        ("celeba", "cv-vae"),
        ("celeba", "2svae"),
    ],
)
def test_official_nets_have_the_keras_parameter_counts(dataset, model, one_thread):
    config = make_config(dataset, model, "official")
    built = raekit.build_model(model, dataset, "official")
    d = config.latent_dim
    outputs = 2 * d if model in ("vae", "2svae") else d
    enc, dec = _keras_trainable(dataset, config.filters, d, outputs)
    count = lambda net: sum(p.numel() for p in net.parameters() if p.requires_grad)  # noqa: E731
    assert (count(built.encoder), count(built.decoder)) == (enc, dec)


@pytest.mark.parametrize("kernel,stride", [(4, 2), (5, 2), (4, 1), (5, 1)])
def test_same_transposed_conv_is_the_adjoint_of_tensorflows_same_conv(kernel, stride):
    """TF pads a 'same' conv by k - s, the smaller half first; Conv2DTranspose is its adjoint."""
    torch.manual_seed(0)
    layer = SameConvTranspose2d(3, 2, kernel, stride)
    nn.init.zeros_(layer.bias)
    n = 16
    x = torch.randn(1, 2, n, n)  # the transposed conv's output space
    y = torch.randn(1, 3, n // stride, n // stride)
    total = kernel - stride
    lo, hi = total // 2, total - total // 2
    conv = F.conv2d(F.pad(x, (lo, hi, lo, hi)), layer.weight, stride=stride)
    out = layer(y)
    assert out.shape == x.shape
    assert float((out * x).sum()) == pytest.approx(float((y * conv).sum()), rel=1e-5)


def test_official_encoder_scales_its_input_and_celeba_wae_adds_clipped_noise():
    model = raekit.build_model("rae", "mnist", "official", width=0.0625).eval()
    x = torch.rand(3, 1, 32, 32)
    model.encoder.scale_input = False
    unscaled = model.encode(2 * x - 1)
    model.encoder.scale_input = True
    assert torch.allclose(model.encode(x), unscaled)
    wae = raekit.build_model("wae", "celeba", "official", width=0.0625)
    x = torch.rand(2, 3, 64, 64)
    noisy = wae.train()._noisy(x)
    assert 0 < float((noisy - x).abs().max()) <= 0.01 + 1e-7
    assert torch.equal(wae.eval()._noisy(x), x)


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("dataset", ["mnist", "cifar10", "celeba", "digits"])
def test_every_preset_dataset_and_model_builds_and_takes_a_step(preset, dataset, one_thread):
    shape = IMAGE_SHAPES[dataset]
    x = torch.as_tensor(np.random.default_rng(0).random((4, *shape)), dtype=torch.float32)
    for model_name in IMAGE_MODELS:
        model = raekit.build_model(model_name, dataset, preset, width=1 / 32).train()
        before = [p.detach().clone() for p in model.parameters()]
        optimizer = torch.optim.Adam(model.parameters(), lr=model.config.lr)
        loss = model.loss(x)["loss"]
        assert torch.isfinite(loss), (preset, dataset, model_name)
        loss.backward()
        optimizer.step()
        assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters())), model_name
