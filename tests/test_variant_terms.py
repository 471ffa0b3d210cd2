"""How every row of the variant table wires its loss terms.

For each variant a tiny model computes `model.loss(x)` under a fixed seed; a copy of the same model
(taken before the call, so batch-norm and spectral-norm state match) recomputes every term from
hand formulas applied at the tensor the paper names: RAE's 1/2 ||z||^2 at the encoder output, the
CV-VAE's at mu (not at a sample), the VAE's closed-form KL at (mu, log-variance), WAE's MMD between
the codes and seeded prior draws, RAE-GP's penalty at the encoder's z, RAE-L2's squared weights of
the decoder's conv/linear (and recurrent) layers, the reconstruction at the decoder's output for
the sampled code; the total must be the weighted sum with the config's weights.

The random draws are replayed by seeding once and drawing in the model's order (posterior noise,
then the penalty's projection vectors, then the MMD's prior draws); the encoders and decoders draw
nothing.

Checked to fail on wrong wirings by running this file against a copy of src/raekit with one
change at a time (never committed): the GP taken at torch.randn_like(z) instead of z, the CV-VAE's
latent term on the sample z instead of mu, the VAE's KL on the sampled z, the MMD against a
second prior draw, the decoder L2 over the encoder, the reconstruction decoded from mu instead of
the sample, beta and lam swapped in the total, spectral norm left off the decoder: each made
tests here fail.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import raekit
from raekit.config.loss_weights import converted_weights
from raekit.models import VARIANTS

# What the README's model table says, written out by hand (independent of the variant table):
# encoder noise, latent term, decoder term, spectral norm on the decoder.
EXPECTED = {
    "ae": ("deterministic", None, None, False),
    "rae": ("deterministic", "z_l2", None, False),
    "rae-l2": ("deterministic", "z_l2", "dec_l2", False),
    "rae-gp": ("deterministic", "z_l2", "gp", False),
    "rae-sn": ("deterministic", "z_l2", None, True),
    "vae": ("gaussian", "kl", None, False),
    "cv-vae": ("constant", "z_l2", None, False),
    "wae": ("deterministic", "mmd", None, False),
    "2svae": ("gaussian", "kl", None, False),
    "cvae": ("gaussian", "kl", None, False),
    "gvae": ("gaussian", "kl", None, False),
    "grae": ("deterministic", "z_l2", "dec_l2", False),
}
# Distinct weights, so that a swapped or missing weight changes the total.
BETA, LAM = 0.37, 0.05
SEED = 1234
IMQ_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)  # WAE (Tolstikhin et al.): C = scale * 2 d


def _build(name: str, preset: str = "tiny", **overrides):
    variant = VARIANTS[name]
    dataset = "digits" if variant.data == "image" else "expressions"
    model = raekit.build_model(name, dataset, preset, beta=BETA, lam=LAM, **overrides)
    generator = torch.Generator().manual_seed(0)
    if variant.data == "image":
        x = torch.rand(6, 1, 32, 32, generator=generator)
    else:
        # Any symbol sequence will do: each target's own production is allowed by its mask.
        symbols = model.encoder.num_symbols
        with torch.no_grad():
            length = model.eval().decode(torch.zeros(1, model.latent_dim)).shape[1]
        model.train()
        x = torch.randint(0, symbols, (6, length), generator=generator)
    return model, x


def _imq_mmd(z: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Unbiased MMD^2 with the sum of IMQ kernels k(a, b) = C / (C + ||a - b||^2), written out."""
    n, d = z.shape
    zz, pp, zp = (torch.cdist(a.double(), b.double()).pow(2) for a, b in ((z, z), (p, p), (z, p)))
    off = 1.0 - torch.eye(n, dtype=torch.float64)
    total = 0.0
    for scale in IMQ_SCALES:
        c = scale * 2.0 * d
        total = (
            total
            + ((c / (c + zz) + c / (c + pp)) * off).sum() / (n * (n - 1))
            - 2.0 * (c / (c + zp)).mean()
        )
    return total


def _decoder_l2(decoder: nn.Module, layers: str) -> torch.Tensor:
    """Sum of squared weights of the decoder's conv/linear layers ("transposed": transposed convs
    only) and, for "all", its recurrent input/hidden matrices; no biases, no batch norm."""
    transposed = (nn.ConvTranspose1d, nn.ConvTranspose2d)
    kinds = transposed if layers == "transposed" else (nn.Linear, nn.Conv1d, nn.Conv2d, *transposed)
    total = torch.zeros(())
    for module in decoder.modules():
        if isinstance(module, kinds):
            total = total + module.weight.detach().pow(2).sum()
        if layers == "all" and isinstance(module, nn.RNNBase):
            for pname, w in module.named_parameters():
                if pname.startswith(("weight_ih", "weight_hh")):
                    total = total + w.detach().pow(2).sum()
    return total


def _reference(model, x: torch.Tensor, seed: int) -> dict[str, torch.Tensor]:
    """The variant's terms recomputed by hand on `model` (a copy taken before the model's call)."""
    name, config = model.config.model, model.config
    noise, latent, decoder_term, _ = EXPECTED[name]
    sequence = VARIANTS[name].data != "image"
    grammarvae = sequence and config.sequence_recipe == "grammarvae"
    k = config.mc_samples if noise != "deterministic" else 1

    h = model.encoder(x)
    torch.manual_seed(seed)
    if noise == "deterministic":
        mu, logvar, z = h, None, h
    else:
        if noise == "gaussian":
            mu, raw = h.chunk(2, dim=1)
            logvar = 10.0 * torch.tanh(raw / 5.0)  # log sigma bounded by 5 tanh(a / 5)
            sigma = torch.exp(0.5 * logvar)
        else:
            mu, logvar, sigma = h, None, config.cv_sigma
        eps = torch.randn((k, *mu.shape)) * (0.01 if grammarvae else 1.0)
        z = (mu + eps * sigma).reshape(k * len(x), -1)

    z_in = z.detach().requires_grad_(True)
    steps = model.trim(x) if model.trim is not None else None
    x_hat = model.decoder(z_in) if steps is None else model.decoder(z_in, steps)
    out = {}
    draws = x_hat.reshape(k, len(x), *x_hat.shape[1:])
    if sequence:
        out["rec"] = torch.stack([model.reconstruction(d, x) for d in draws]).mean()
    else:  # Eq. 8: per-image sum of squared errors, batch mean; mean over the k draws
        out["rec"] = torch.stack([(d - x).pow(2).sum(dim=(1, 2, 3)).mean() for d in draws]).mean()

    if decoder_term == "gp":
        if config.gp_estimator == "official":  # || d/dz sum D(z)^2 ||^2 per sample, batch mean
            (g,) = torch.autograd.grad(x_hat.pow(2).sum(), z_in)
            out["gp"] = g.pow(2).sum(1).mean()
        else:  # E_v ||J^T v||^2 with seeded v ~ N(0, I)
            total = 0.0
            for _ in range(config.gp_projections):
                v = torch.randn(x_hat.shape)
                (g,) = torch.autograd.grad(x_hat, z_in, grad_outputs=v, retain_graph=True)
                total = total + g.pow(2).sum(1).mean()
            out["gp"] = total / config.gp_projections
    elif decoder_term == "dec_l2":
        out["dec_l2"] = _decoder_l2(model.decoder, config.l2_layers)

    if latent == "z_l2":  # 1/2 ||mu||^2 at the encoder's output (the CV-VAE's mean, not a draw)
        out["z_l2"] = 0.5 * mu.pow(2).sum(1).mean()
    elif latent == "kl":
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)
        out["kl"] = (kl / mu.shape[1] if grammarvae else kl).mean()
    elif latent == "mmd":
        out["mmd"] = _imq_mmd(z, torch.randn(z.shape))
    out = {key: value.detach().to(torch.float32) for key, value in out.items()}
    out["loss"] = (
        out["rec"]
        + (config.beta * out[latent] if latent else 0.0)
        + (config.lam * out[decoder_term] if decoder_term else 0.0)
    )
    return out


def _check(model, x, seed=SEED):
    reference = copy.deepcopy(model)
    torch.manual_seed(seed)
    terms = model.loss(x)
    expected = _reference(reference, x, seed)
    assert set(terms) == set(expected)
    for key in expected:
        torch.testing.assert_close(
            terms[key].detach(),
            expected[key],
            rtol=2e-5,
            atol=2e-5,
            msg=lambda m, key=key: f"{model.config.model} term {key!r}: {m}",
        )
    return terms, expected


def test_expectations_cover_the_variant_table():
    assert set(EXPECTED) == set(VARIANTS)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("name", list(VARIANTS))
def test_each_term_is_the_formula_at_the_right_tensor(name, mode):
    assert name in EXPECTED, f"add {name!r} to EXPECTED with its encoder noise and loss terms"
    model, x = _build(name)
    model.train(mode == "train")
    _, latent, decoder_term, _ = EXPECTED[name]
    assert (model.beta, model.lam) == (model.config.beta, model.config.lam) == (BETA, LAM)
    terms, expected = _check(model, x)
    assert set(terms) == {"rec", "loss"} | {t for t in (latent, decoder_term) if t}
    # The terms that are compared are not degenerate: each moves the total.
    if latent:
        assert float(expected[latent]) > 1e-6
    if decoder_term:
        assert float(expected[decoder_term]) > 1e-6


@pytest.mark.parametrize("name", [n for n, v in VARIANTS.items() if v.data == "image"])
def test_preset_weights_are_the_converted_official_ones(name):
    model = raekit.build_model(name, "digits", "tiny")
    assert (model.beta, model.lam) == converted_weights(name, "digits")
    assert (model.config.beta, model.config.lam) == (model.beta, model.lam)


def test_gp_is_taken_at_the_encoder_z_also_without_grad():
    """Validation runs under no_grad: the penalty is still d/dz at the encoder's codes."""
    model, x = _build("rae-gp")
    model.eval()
    reference = copy.deepcopy(model)
    with torch.no_grad():
        terms = model.loss(x)
    expected = _reference(reference, x, SEED)
    torch.testing.assert_close(terms["gp"], expected["gp"], rtol=2e-5, atol=2e-5)
    assert not terms["gp"].requires_grad


def test_gp_projection_estimator_at_the_encoder_z():
    model, x = _build("rae-gp", gp_estimator="projection", gp_projections=3)
    _check(model, x)
    # The projections estimate ||dD/dz||_F^2 at the encoder's codes: compare with the exact
    # Jacobian (eval mode, so samples do not interact through batch norm), loosely (64 projections).
    model, x = _build("rae-gp", gp_estimator="projection", gp_projections=64)
    model.eval()
    z = model.encoder(x[:2]).detach()
    columns = [
        torch.autograd.functional.jvp(model.decoder, z, e.expand_as(z).contiguous())[1]
        for e in torch.eye(z.shape[1])
    ]  # dD/dz_j of each sample
    exact = float(torch.stack(columns).pow(2).sum()) / len(z)  # batch mean of ||J||_F^2
    torch.manual_seed(0)
    assert float(model.loss(x[:2])["gp"].detach()) == pytest.approx(exact, rel=0.3)


@pytest.mark.parametrize("name", ["vae", "cv-vae"])
def test_monte_carlo_draws_average_the_reconstruction(name):
    model, x = _build(name, mc_samples=3)
    _check(model, x)


@pytest.mark.parametrize("name", ["rae-l2", "rae-sn", "wae"])
def test_official_preset_wiring(name):
    """`official`: RAE-L2 regularises the transposed convs only; RAE-SN normalises every layer."""
    model, x = _build(name, "official", width=0.0625)
    if name == "rae-l2":
        assert model.config.l2_layers == "transposed"
    _check(model, x)


def _spectral_layers(module: nn.Module):
    kinds = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)
    return [m for m in module.modules() if isinstance(m, kinds)]


def _normalised(layer: nn.Module) -> bool:
    from torch.nn.utils import parametrize

    return parametrize.is_parametrized(layer, "weight") and any(
        type(p).__name__ == "_SpectralNorm" for p in layer.parametrizations["weight"]
    )


@pytest.mark.parametrize("name", [n for n, v in VARIANTS.items() if v.data == "image"])
def test_spectral_norm_on_the_decoder_only_for_rae_sn(name):
    model, _ = _build(name)
    wants = EXPECTED[name][3]
    assert all(_normalised(m) == wants for m in _spectral_layers(model.decoder))
    assert not any(_normalised(m) for m in _spectral_layers(model.encoder))


def test_spectral_norm_scales_each_decoder_weight_to_unit_norm():
    model, _ = _build("rae-sn")
    model.train()
    with torch.no_grad():
        for _ in range(25):  # one power iteration per training forward pass
            model.decode(torch.randn(8, model.latent_dim))
    model.eval()
    for layer in _spectral_layers(model.decoder):
        dim = 1 if isinstance(layer, nn.ConvTranspose2d) else 0
        matrix = layer.weight.detach().movedim(dim, 0).flatten(1)
        # The power iteration's estimate approaches the largest singular value from below.
        assert 0.999 < float(torch.linalg.matrix_norm(matrix, ord=2)) < 1.05
    official, _ = _build("rae-sn", "official", width=0.0625)
    assert official.config.sn_all_layers
    layers = _spectral_layers(official.encoder) + _spectral_layers(official.decoder)
    assert all(_normalised(m) for m in layers)
