"""Each loss term against a hand computation or an independent implementation."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from raekit.models import losses


def test_sum_squared_error_is_per_sample_sum_batch_mean(rng):
    x, y = rng.random((4, 1, 3, 3)), rng.random((4, 1, 3, 3))
    expected = np.mean([np.sum((x[i] - y[i]) ** 2) for i in range(4)])
    got = losses.sum_squared_error(torch.tensor(y), torch.tensor(x))
    assert float(got) == pytest.approx(expected, rel=1e-12)


def test_latent_l2_is_half_squared_norm():
    z = torch.tensor([[3.0, 4.0], [1.0, 0.0]], dtype=torch.float64)
    assert float(losses.latent_l2(z)) == pytest.approx((0.5 * 25 + 0.5 * 1) / 2)


def test_gaussian_kl_matches_monte_carlo():
    torch.manual_seed(0)
    mu = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64)
    logvar = torch.tensor([[0.3, -0.7, 1.1]], dtype=torch.float64)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    z = q.sample((400_000,))
    mc = (q.log_prob(z) - p.log_prob(z)).sum(-1).mean()
    assert float(losses.gaussian_kl(mu, logvar)) == pytest.approx(float(mc), abs=0.01)


def _tiny_decoder():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4), nn.Sigmoid()).double()


def _exact_frobenius(decoder, z):
    jac = torch.func.vmap(torch.func.jacrev(decoder))(z)  # (n, out, d)
    return jac.pow(2).sum((1, 2)).mean()


def test_projection_penalty_estimates_squared_frobenius_norm_of_jacobian():
    decoder = _tiny_decoder()
    z = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    torch.manual_seed(2)
    estimate = losses.decoder_jacobian_penalty(decoder(z), z, projections=20_000)
    exact = _exact_frobenius(decoder, z.detach())
    assert float(estimate) == pytest.approx(float(exact), rel=0.03)


def test_projection_penalty_is_differentiable_wrt_decoder_weights():
    decoder = _tiny_decoder()
    z = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    losses.decoder_jacobian_penalty(decoder(z), z).backward()
    assert decoder[0].weight.grad is not None and decoder[0].weight.grad.abs().sum() > 0


def test_official_penalty_matches_its_definition():
    decoder = _tiny_decoder()
    z = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    got = losses.output_gradient_penalty(decoder(z), z)
    jac = torch.func.vmap(torch.func.jacrev(decoder))(z.detach())  # (n, out, d)
    grad = 2.0 * torch.einsum("nod,no->nd", jac, decoder(z.detach()))  # d/dz sum D(z)^2
    assert float(got) == pytest.approx(float(grad.pow(2).sum(1).mean()), rel=1e-10)


def test_decoder_l2_counts_conv_and_linear_weights_only():
    decoder = nn.Sequential(
        nn.Linear(2, 3),
        nn.BatchNorm1d(3),
        nn.Unflatten(1, (3, 1, 1)),
        nn.ConvTranspose2d(3, 2, 2),
        nn.BatchNorm2d(2),
        nn.Conv2d(2, 1, 1),
    )
    with torch.no_grad():
        for p in decoder.parameters():
            p.fill_(2.0)
    # weights: 2*3 + 3*2*2*2 + 2*1 = 32 values of 2.0 -> 32 * 4; biases and BN excluded
    assert float(losses.decoder_weight_l2(decoder)) == pytest.approx(32 * 4.0)


def _mmd_reference(x, y, sigma2=1.0):
    n, d = x.shape
    total = 0.0
    for scale in losses.IMQ_SCALES:
        c = scale * 2 * d * sigma2
        k = lambda a, b, c=c: c / (c + np.sum((a - b) ** 2))  # noqa: E731
        kxx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
        kyy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
        kxy = sum(k(x[i], y[j]) for i in range(n) for j in range(n)) / (n * n)
        total += kxx + kyy - 2 * kxy
    return total


def test_mmd_matches_pairwise_loop(rng):
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(7, 3)) + 0.5
    got = losses.mmd_imq(torch.tensor(x), torch.tensor(y))
    assert float(got) == pytest.approx(_mmd_reference(x, y), rel=1e-10)


def test_mmd_is_near_zero_for_same_distribution_and_grows_with_shift():
    torch.manual_seed(0)
    z = torch.randn(500, 4, dtype=torch.float64)
    values = [
        float(losses.mmd_imq(z + shift, torch.randn(500, 4, dtype=torch.float64)))
        for shift in (0.0, 0.5, 1.0, 2.0)
    ]
    assert abs(values[0]) < 0.01
    assert values[0] < values[1] < values[2] < values[3]


def test_mmd_gradient_is_finite_with_duplicate_codes():
    z = torch.zeros(4, 2, requires_grad=True)
    losses.mmd_imq(z, torch.randn(4, 2)).backward()
    assert torch.isfinite(z.grad).all() and not math.isnan(float(z.grad.sum()))
