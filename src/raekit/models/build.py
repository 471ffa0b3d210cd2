"""Build an autoencoder from a RunConfig (or from a name, a dataset and a preset)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from raekit.config import RunConfig, make_config
from raekit.config.variants import get_variant
from raekit.errors import RaekitError
from raekit.models.autoencoder import Autoencoder
from raekit.nets.image import image_nets

_SN_LAYERS = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Conv1d)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Normalise every conv/linear weight by its largest singular value (power iteration)."""
    for layer in list(module.modules()):
        if isinstance(layer, _SN_LAYERS):
            spectral_norm(layer)
    return module


def build_from_config(
    config: RunConfig, encoder: nn.Module | None = None, decoder: nn.Module | None = None
) -> Autoencoder:
    """The config's autoencoder, on the Appendix C nets unless encoder/decoder modules are given."""
    variant = get_variant(config.model)
    outputs = 2 * config.latent_dim if variant.encoder == "gaussian" else config.latent_dim
    if (encoder is None) != (decoder is None):
        raise RaekitError("pass both an encoder and a decoder, or neither")
    sequence_options = {}
    if encoder is None:
        torch.manual_seed(config.seed)
        if variant.data == "image":
            encoder, decoder = image_nets(
                config.image_shape,
                config.latent_dim,
                outputs,
                config.width,
                filters=config.filters,
                style=config.net,
                scale_input=config.scale_input,
            )
        else:
            # why here: sequence models need the `grammar` extra (nltk); image models must not
            from raekit.models.sequence import sequence_parts

            encoder, decoder, sequence_options = sequence_parts(config, outputs)
    if variant.spectral_norm:
        apply_spectral_norm(decoder)
        if config.sn_all_layers:
            apply_spectral_norm(encoder)
    model = Autoencoder(
        encoder,
        decoder,
        variant,
        config.latent_dim,
        beta=config.beta,
        lam=config.lam,
        cv_sigma=config.cv_sigma,
        gp_estimator=config.gp_estimator,
        gp_projections=config.gp_projections,
        mc_samples=config.mc_samples,
        l2_layers=config.l2_layers,
        input_noise=config.input_noise,
        **sequence_options,
    )
    model.config = config
    return model


def build_model(
    name: str,
    dataset: str = "digits",
    preset: str = "tiny",
    *,
    encoder: nn.Module | None = None,
    decoder: nn.Module | None = None,
    **overrides: Any,
) -> Autoencoder:
    """`raekit.build_model("rae-l2", dataset="mnist", preset="paper", beta=...)`."""
    config = make_config(dataset, name, preset, **overrides)
    return build_from_config(config, encoder, decoder)
