"""Autoencoder variants of the paper built from pure loss terms."""

from raekit.config.variants import IMAGE_MODELS, SEQUENCE_MODELS, VARIANTS, Variant, get_variant
from raekit.models.autoencoder import Autoencoder
from raekit.models.build import apply_spectral_norm, build_from_config, build_model

__all__ = [
    "Autoencoder",
    "IMAGE_MODELS",
    "SEQUENCE_MODELS",
    "VARIANTS",
    "Variant",
    "apply_spectral_norm",
    "build_from_config",
    "build_model",
    "get_variant",
]
