"""The paper's models as a table: each is one encoder type plus a choice of loss terms."""

from __future__ import annotations

from dataclasses import dataclass

from raekit.errors import unknown


@dataclass(frozen=True)
class Variant:
    name: str
    encoder: str  # "deterministic", "gaussian" (learned variance) or "constant" (fixed sigma)
    latent_term: str | None  # "z_l2" (1/2 ||z||^2), "kl" (closed form), "mmd" (WAE) or None
    decoder_term: str | None  # "dec_l2" (weight decay), "gp" (Jacobian penalty) or None
    spectral_norm: bool = False
    # The density behind Table 1's "N" column: a fitted full-covariance Gaussian, the N(0, I)
    # prior (VAE, WAE), or the second-stage VAE (2-stage VAE).
    n_density: str = "gaussian"
    data: str = "image"  # "image", or a sequence task's "grammar" / "chars" representation
    # How the official code normalised this family's loss, which fixes its weight conversion
    # (raekit.config.loss_weights.converted_weights): "rae" (means over pixels and d), "std_vae" (sum over
    # pixels, mean over channels) or "wae" (mean over pixels; CelebA a scaled sum).
    weight_rule: str = "rae"
    summary: str = ""


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant(
            "ae", "deterministic", None, None, summary="plain autoencoder, reconstruction only"
        ),
        Variant("rae", "deterministic", "z_l2", None, summary="RAE with the latent L2 term only"),
        Variant("rae-l2", "deterministic", "z_l2", "dec_l2", summary="RAE + L2 on decoder weights"),
        Variant("rae-gp", "deterministic", "z_l2", "gp", summary="RAE + decoder gradient penalty"),
        Variant(
            "rae-sn",
            "deterministic",
            "z_l2",
            None,
            spectral_norm=True,
            summary="RAE + spectrally normalised decoder",
        ),
        Variant(
            "vae",
            "gaussian",
            "kl",
            None,
            n_density="prior",
            weight_rule="std_vae",
            summary="Gaussian VAE",
        ),
        Variant(
            "cv-vae",
            "constant",
            "z_l2",
            None,
            weight_rule="std_vae",
            summary="constant-variance VAE (KL = 1/2 ||mu||^2)",
        ),
        Variant(
            "wae",
            "deterministic",
            "mmd",
            None,
            n_density="prior",
            weight_rule="wae",
            summary="WAE with IMQ-kernel MMD",
        ),
        Variant(
            "2svae",
            "gaussian",
            "kl",
            None,
            n_density="two-stage",
            weight_rule="std_vae",
            summary="2-stage VAE: this VAE, then a second-stage VAE density on its codes",
        ),
        # Section 6.2's sequence models on GrammarVAE's networks.
        Variant(
            "cvae",
            "gaussian",
            "kl",
            None,
            n_density="prior",
            data="chars",
            summary="character VAE (Gomez-Bombarelli et al.)",
        ),
        Variant(
            "gvae",
            "gaussian",
            "kl",
            None,
            n_density="prior",
            data="grammar",
            summary="grammar VAE (Kusner et al.)",
        ),
        Variant(
            "grae",
            "deterministic",
            "z_l2",
            "dec_l2",
            data="grammar",
            summary="grammar RAE: the RAE-L2 objective on grammar sequences",
        ),
    )
}
SEQUENCE_MODELS = tuple(name for name, v in VARIANTS.items() if v.data != "image")
IMAGE_MODELS = tuple(name for name, v in VARIANTS.items() if v.data == "image")


def get_variant(name: str) -> Variant:
    key = name.lower()
    if key not in VARIANTS:
        raise unknown("model", name, VARIANTS)
    return VARIANTS[key]
