"""One autoencoder for every variant: the variant picks the encoder noise and the loss terms."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
from torch import nn

from raekit.config.variants import Variant
from raekit.devices import module_device
from raekit.errors import RaekitError
from raekit.models import losses

Reconstruction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class Autoencoder(nn.Module):
    """Wraps any encoder/decoder pair.

    The encoder maps x to `latent_dim` features (2 * latent_dim for a Gaussian encoder: mean and
    log-scale); the decoder maps codes back to the data's space. `beta` weighs the latent term,
    `lam` the decoder regulariser, as in Eq. 11.
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        variant: Variant,
        latent_dim: int,
        beta: float = 0.0,
        lam: float = 0.0,
        cv_sigma: float = 0.7,
        gp_estimator: str = "projection",
        gp_projections: int = 1,
        mc_samples: int = 1,
        reconstruction: Reconstruction = losses.sum_squared_error,
        noise_std: float = 1.0,
        kl_mean: bool = False,
        trim: Callable[[torch.Tensor], int] | None = None,
        l2_layers: str = "all",
        input_noise: float = 0.0,
    ):
        super().__init__()
        self.encoder, self.decoder, self.variant = encoder, decoder, variant
        self.latent_dim, self.beta, self.lam = latent_dim, beta, lam
        self.cv_sigma, self.gp_estimator, self.gp_projections = (
            cv_sigma,
            gp_estimator,
            gp_projections,
        )
        self.mc_samples = mc_samples if variant.encoder != "deterministic" else 1
        self.reconstruction = reconstruction
        # GrammarVAE's VAEs: z = mu + sigma * eps with eps ~ N(0, noise_std^2), and the KL
        # averaged over the latent dimensions instead of summed.
        self.noise_std, self.kl_mean = noise_std, kl_mean
        # Sequence models whose loss ignores trailing padding: decode only trim(x) steps.
        self.trim = trim
        self.l2_layers, self.input_noise = l2_layers, input_noise
        self.config = None  # the RunConfig it was built from (raekit.models.build sets it)

    def as_input(self, x) -> torch.Tensor:
        """Images as the nets take them, on the model's device: floats in [0, 1] pass unchanged,
        uint8 pixels (0..255) become x / 255; other dtypes are refused. Sequences pass as given."""
        if self.variant.data != "image":
            return x
        x = torch.as_tensor(x)
        device = module_device(self)
        if x.dtype == torch.uint8:
            return x.to(device).to(torch.get_default_dtype()).div_(255.0)
        if not x.is_floating_point():
            raise RaekitError(
                f"image models take floats in [0, 1] or uint8 pixels (0..255), got {x.dtype}"
            )
        return x.to(device)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(mean, log-variance) of q(z|x); log-variance is None for deterministic encoders.
        `x`: images (N, C, H, W) as floats in [0, 1] or uint8 (see `as_input`)."""
        h = self.encoder(self.as_input(x))
        if self.variant.encoder != "gaussian":
            return h, None
        mu, raw = h.chunk(2, dim=1)
        # Bounded log-sigma (official code: 5 tanh) keeps exp() finite early in training.
        return mu, 2.0 * 5.0 * torch.tanh(raw / 5.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code of x: the posterior mean for VAEs."""
        return self.posterior(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Named loss terms (unweighted) and their weighted sum under "loss". Images are floats
        in [0, 1] or uint8 (0..255, divided by 255), moved to the model's device."""
        x = self.as_input(x)
        mu, logvar = self.posterior(self._noisy(x))
        z = self._sample(mu, logvar)
        # The gradient penalty needs a graph from z even during no-grad validation.
        needs_graph = self.variant.decoder_term == "gp" and not z.requires_grad
        with torch.enable_grad() if needs_graph else contextlib.nullcontext():
            if needs_graph:
                z = z.detach().requires_grad_(True)
            x_hat = self.decoder(z) if self.trim is None else self.decoder(z, self.trim(x))
            terms = {"rec": self._reconstruction(x_hat, x)}
            if self.variant.decoder_term:
                terms[self.variant.decoder_term] = self._decoder_term(x_hat, z)
        if needs_graph:
            terms = {name: value.detach() for name, value in terms.items()}
        if self.variant.latent_term:
            terms[self.variant.latent_term] = self._latent_term(mu, z, logvar)
        total = terms["rec"]
        if self.variant.latent_term:
            total = total + self.beta * terms[self.variant.latent_term]
        if self.variant.decoder_term:
            total = total + self.lam * terms[self.variant.decoder_term]
        terms["loss"] = total
        return terms

    def _noisy(self, x: torch.Tensor) -> torch.Tensor:
        """Training inputs + clip(N(0, s^2), -s, s) (the official CelebA WAE); the target stays clean."""
        s = self.input_noise
        if not (s and self.training):
            return x
        return x + (torch.randn_like(x) * s).clamp(-s, s)

    def _sample(self, mu: torch.Tensor, logvar: torch.Tensor | None) -> torch.Tensor:
        """Codes fed to the decoder: k posterior draws per input, stacked draw-major (k * N, d)."""
        if self.variant.encoder == "deterministic":
            return mu
        k = self.mc_samples
        noise = torch.randn((k, *mu.shape), dtype=mu.dtype, device=mu.device) * self.noise_std
        return (mu + noise * self.posterior_std(logvar)).reshape(k * mu.shape[0], -1)

    def posterior_std(self, logvar: torch.Tensor | None):
        """Standard deviation of q(z|x): learned for VAEs, the fixed sigma for the CV-VAE, 0 otherwise."""
        if self.variant.encoder == "deterministic":
            return 0.0
        return (0.5 * logvar).exp() if self.variant.encoder == "gaussian" else self.cv_sigma

    def _reconstruction(self, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        # With k Monte-Carlo draws the term is the mean of the k single-draw terms (Appendix A).
        if self.mc_samples == 1:
            return self.reconstruction(x_hat, x)
        draws = x_hat.reshape(self.mc_samples, len(x), *x_hat.shape[1:])
        return torch.stack([self.reconstruction(d, x) for d in draws]).mean()

    def _latent_term(self, mu, z, logvar) -> torch.Tensor:
        return LATENT_TERMS[self.variant.latent_term](self, mu, z, logvar)

    def _decoder_term(self, x_hat, z) -> torch.Tensor:
        return DECODER_TERMS[self.variant.decoder_term](self, x_hat, z)


def _kl(model: Autoencoder, mu, z, logvar) -> torch.Tensor:
    kl = losses.gaussian_kl(mu, logvar)
    return kl / mu.shape[1] if model.kl_mean else kl


def _mmd(model: Autoencoder, mu, z, logvar) -> torch.Tensor:
    return losses.mmd_imq(z, torch.randn_like(z))


def _z_l2(model: Autoencoder, mu, z, logvar) -> torch.Tensor:
    return losses.latent_l2(mu)  # RAE's 1/2 ||z||^2; the CV-VAE's KL up to a constant


def _dec_l2(model: Autoencoder, x_hat, z) -> torch.Tensor:
    return losses.decoder_weight_l2(model.decoder, model.l2_layers)


def _gradient_penalty(model: Autoencoder, x_hat, z) -> torch.Tensor:
    return GP_ESTIMATORS[model.gp_estimator](model, x_hat, z)


# Variant.latent_term and Variant.decoder_term name a row of these tables: (model, ...) -> the
# unweighted term.
LATENT_TERMS = {"z_l2": _z_l2, "kl": _kl, "mmd": _mmd}
DECODER_TERMS = {"dec_l2": _dec_l2, "gp": _gradient_penalty}
GP_ESTIMATORS = {
    "official": lambda model, x_hat, z: losses.output_gradient_penalty(x_hat, z),
    "projection": lambda model, x_hat, z: losses.decoder_jacobian_penalty(
        x_hat, z, model.gp_projections
    ),
}
