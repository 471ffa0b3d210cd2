"""Loss terms as pure functions: each returns a scalar averaged over the batch.

Units follow the paper (Eq. 8, 11): per-sample sums over pixels / latent dimensions, batch mean.
"""

from __future__ import annotations

import torch
from torch import nn

# Inverse-multiquadratic kernel scales of the WAE-MMD (Tolstikhin et al.), times 2 * d * sigma_p^2.
IMQ_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def sum_squared_error(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Eq. 8: ||x - x_hat||^2 summed over every pixel and channel, averaged over the batch."""
    return (x_hat - x).pow(2).flatten(1).sum(1).mean()


def latent_l2(z: torch.Tensor) -> torch.Tensor:
    """Eq. 11's L_Z = 1/2 ||z||^2 (also the CV-VAE's KL up to a constant)."""
    return 0.5 * z.pow(2).sum(1).mean()


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) in closed form."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1).mean()


def decoder_weight_l2(decoder: nn.Module, layers: str = "all") -> torch.Tensor:
    """RAE-L2's ||theta||^2: squared weights of the decoder's L2_LAYERS[layers] and, for "all", the
    input and recurrent weight matrices of its recurrent layers (no biases, no BatchNorm)."""
    weights = [m.weight for m in decoder.modules() if isinstance(m, L2_LAYERS[layers])]
    if layers == "all":
        weights += [
            w
            for m in decoder.modules()
            if isinstance(m, nn.RNNBase)
            for name, w in m.named_parameters()
            if name.startswith("weight_")
        ]
    if not weights:
        raise ValueError(f"the decoder has no {layers!r} layers for the L2 term")
    return torch.stack([w.pow(2).sum() for w in weights]).sum()


_TRANSPOSED = (nn.ConvTranspose1d, nn.ConvTranspose2d)
# "all": every conv/linear weight (the paper); "transposed": transposed-conv kernels only (the official
# MNIST / CIFAR-10 nets regularise only their Conv2DTranspose layers).
L2_LAYERS = {"all": (nn.Linear, nn.Conv1d, nn.Conv2d, *_TRANSPOSED), "transposed": _TRANSPOSED}


def decoder_jacobian_penalty(
    x_hat: torch.Tensor, z: torch.Tensor, projections: int = 1
) -> torch.Tensor:
    """RAE-GP's ||grad D(z)||^2 as the squared Frobenius norm of dD/dz, per sample, batch mean.

    Unbiased: E_v ||J^T v||^2 = ||J||_F^2 for v ~ N(0, I), one vector-Jacobian product per
    projection (create_graph so the penalty itself is differentiated).
    """
    total = x_hat.new_zeros(())
    for _ in range(projections):
        v = torch.randn_like(x_hat)
        (vjp,) = torch.autograd.grad(x_hat, z, grad_outputs=v, create_graph=True)
        total = total + vjp.pow(2).sum(1).mean()
    return total / projections


def output_gradient_penalty(x_hat: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """The official code's form: || d/dz sum(D(z)^2) ||^2 per sample, batch mean."""
    (grad,) = torch.autograd.grad(x_hat.pow(2).sum(), z, create_graph=True)
    return grad.pow(2).sum(1).mean()


def mmd_imq(z: torch.Tensor, z_prior: torch.Tensor, sigma2: float = 1.0) -> torch.Tensor:
    """Unbiased MMD^2 between codes and prior samples, IMQ kernel summed over WAE's scales."""
    n, d = z.shape
    base = 2.0 * d * sigma2
    dzz, dpp, dzp = _sq_dists(z, z), _sq_dists(z_prior, z_prior), _sq_dists(z, z_prior)
    off_diag = 1.0 - torch.eye(n, dtype=z.dtype, device=z.device)
    total = z.new_zeros(())
    for scale in IMQ_SCALES:
        c = scale * base
        kzz, kpp, kzp = c / (c + dzz), c / (c + dpp), c / (c + dzp)
        total = total + ((kzz + kpp) * off_diag).sum() / (n * (n - 1)) - 2.0 * kzp.mean()
    return total


def _sq_dists(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # Expanded form (no square root): finite gradients at zero distance, unlike cdist(a, b) ** 2.
    return (a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1) - 2.0 * a @ b.T).clamp_min(0.0)
