"""The paper's loss weights: the official code's values, converted per model family into raekit's
units (per-image sums over H*W*C, Eq. 8 and 11)."""

from __future__ import annotations

from raekit.config.dataset_specs import DATASET_SPECS
from raekit.config.variants import get_variant

# Sequence models: VAEs use the ELBO's unit KL weight; GRAE uses MNIST RAE-L2's weights in raekit's
# units (1.28e-2, 1.024e-4), rounded: both reconstructions are per-sample sums of similar size.
SEQUENCE_WEIGHTS = {"cvae": (1.0, 0.0), "gvae": (1.0, 0.0), "grae": (1e-2, 1e-4)}

# Official weights (official code's configurations, its units: per-pixel mean MSE, beta * mean_d z^2).
# model -> dataset family -> (latent weight, decoder weight).
OFFICIAL_WEIGHTS = {
    "vae": {"mnist": (0.312, 0), "cifar10": (0.024, 0), "celeba": (0.09024, 0)},
    "2svae": {"mnist": (0.312, 0), "cifar10": (0.024, 0), "celeba": (0.09024, 0)},
    "cv-vae": {"mnist": (0.039, 0), "cifar10": (9e-4, 0), "celeba": (0.01, 0)},
    "wae": {"mnist": (3e-2, 0), "cifar10": (6e-3, 0), "celeba": (100, 0)},
    "rae-gp": {"mnist": (1e-4, 0.5e-7), "cifar10": (9e-4, 0), "celeba": (1e-4, 1e-7)},
    "rae-l2": {"mnist": (1e-4, 1e-7), "cifar10": (1e-3, 1e-6), "celeba": (1e-4, 1e-7)},
    "rae-sn": {"mnist": (9e-3, 0), "cifar10": (0.03, 0), "celeba": (2.4e-3, 0)},
    "rae": {"mnist": (5e-4, 0), "cifar10": (1e-2, 0), "celeba": (1e-4, 0)},
    "ae": {"mnist": (0, 0), "cifar10": (0, 0), "celeba": (0, 0)},
}


# WAE on CelebA: the official `per_pix_recon_loss` is 0.05 * the per-image sum (no `recon_loss_type`).
_WAE_RECON_SUM_SCALE = {"celeba": 0.05}


def converted_weights(
    model: str, dataset: str, shape: tuple[int, int, int] | None = None
) -> tuple[float, float]:
    """Official (beta, lambda) in raekit's units (per-image sums over H*W*C, Eq. 8 and 11); `shape`
    (C, H, W): images of another size that take `dataset`'s weights (own images).

    Each official weight is multiplied by the factor that turns that family's official
    reconstruction into raekit's per-image sum:
    - "rae": Keras mse is a mean over H*W*C and the latent term beta * mean_d z^2, so
      beta_ours = 2 * beta * HWC / d (Eq. 11's 1/2) and lambda_L2 = lambda * HWC; the official
      gradient penalty is also a mean over d: lambda_GP = lambda * HWC / d.
    - "std_vae": a sum over H, W of a mean over channels: beta_ours = C * beta.
    - "wae": a mean over H*W*C: beta * HWC; CelebA's 0.05 * sum: beta / 0.05.
    """
    if model in SEQUENCE_WEIGHTS:
        return SEQUENCE_WEIGHTS[model]
    variant, family = get_variant(model), DATASET_SPECS[dataset].family
    beta, lam = OFFICIAL_WEIGHTS[variant.name][family]
    c, h, w = shape or DATASET_SPECS[dataset].shape
    pixels, d = c * h * w, DATASET_SPECS[dataset].latent_dim
    if variant.weight_rule == "std_vae":
        return float(c * beta), 0.0
    if variant.weight_rule == "wae":
        scale = _WAE_RECON_SUM_SCALE.get(family)
        return float(beta / scale if scale else beta * pixels), 0.0
    lam_scale = pixels / d if variant.decoder_term == "gp" else pixels
    return float(2.0 * beta * pixels / d), float(lam * lam_scale)
