"""GrammarVAE's sequence networks (Kusner et al. 2017), used for grammar and character models.

Encoder: Conv1D stack over positions (ReLU, then batch norm after each conv in GrammarVAE's
expression models) -> flatten -> Dense(hidden) + ReLU -> Linear(out_features).
Decoder: (batch norm of z in the expression models) -> Dense(latent) + ReLU -> repeat over
positions -> GRU stack -> Linear to symbol logits. Batch norm uses Keras's defaults (momentum
0.99, epsilon 1e-3), as GrammarVAE's Keras models.
"""

from __future__ import annotations

import torch
from torch import nn

from raekit.errors import RaekitError, unknown
from raekit.nets.keras_gru import KerasGRU

# Sizes from GrammarVAE's models (expressions: model_eq; molecules: model_zinc).
SEQUENCE_NETS = {
    "expressions": {
        "conv_channels": (2, 3, 4),
        "kernels": (2, 3, 4),
        "hidden": 100,
        "gru_hidden": 100,
        "latent_dim": 25,
    },
    "molecules": {
        "conv_channels": (9, 9, 10),
        "kernels": (9, 9, 11),
        "hidden": 435,
        "gru_hidden": 501,
        "latent_dim": 56,
    },
    # A CPU-sized molecule net: same encoder, a GRU of 128 instead of 501 (~13x fewer GRU FLOPs).
    "molecules-cpu": {
        "conv_channels": (9, 9, 10),
        "kernels": (9, 9, 11),
        "hidden": 435,
        "gru_hidden": 128,
        "latent_dim": 56,
    },
}


class SequenceEncoder(nn.Module):
    """One-hot (N, max_length, num_symbols) -> (N, out_features)."""

    def __init__(
        self,
        num_symbols: int,
        max_length: int,
        out_features: int,
        conv_channels=(9, 9, 10),
        kernels=(9, 9, 11),
        hidden: int = 435,
        batch_norm: bool = False,
    ):
        super().__init__()
        if len(conv_channels) != len(kernels):
            raise RaekitError("conv_channels and kernels must have the same length")
        length, layers, width = max_length, [], num_symbols
        for channels, kernel in zip(conv_channels, kernels):
            length -= kernel - 1  # 'valid' convolutions, as Keras Convolution1D's default
            layers += [nn.Conv1d(width, channels, kernel), nn.ReLU()]
            if batch_norm:
                layers.append(keras_batch_norm(channels))
            width = channels
        if length < 1:
            raise RaekitError(
                f"sequences of length {max_length} are too short for kernels {tuple(kernels)}"
            )
        self.max_length, self.num_symbols = max_length, num_symbols
        self.convs = nn.Sequential(*layers)
        self.dense = nn.Sequential(nn.Flatten(), nn.Linear(width * length, hidden), nn.ReLU())
        self.out = nn.Linear(hidden, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, L, S) -> (N, S, L): symbols are the convolution's channels.
        return self.out(self.dense(self.convs(x.transpose(1, 2))))


def keras_batch_norm(features: int) -> nn.BatchNorm1d:
    """Keras's BatchNormalization defaults: running averages with momentum 0.99, epsilon 1e-3."""
    return nn.BatchNorm1d(features, eps=1e-3, momentum=0.01)


GRU_KINDS = ("torch", "keras")


class SequenceDecoder(nn.Module):
    """z (N, latent_dim) -> logits (N, max_length, num_symbols). ``gru="keras"``: Keras 1's
    GRU (`raekit.nets.keras_gru`), as GrammarVAE's trained models compute it."""

    def __init__(
        self,
        latent_dim: int,
        num_symbols: int,
        max_length: int,
        hidden: int = 501,
        gru_layers: int = 3,
        batch_norm: bool = False,
        gru: str = "torch",
    ):
        super().__init__()
        self.max_length = max_length
        norm = [keras_batch_norm(latent_dim)] if batch_norm else []
        self.dense = nn.Sequential(*norm, nn.Linear(latent_dim, latent_dim), nn.ReLU())
        if gru not in GRU_KINDS:
            raise unknown("GRU kind", gru, GRU_KINDS)
        if gru == "keras":  # Keras 1's gates, to run GrammarVAE's own trained weights
            self.gru = KerasGRU(latent_dim, hidden, gru_layers)
        else:
            self.gru = nn.GRU(latent_dim, hidden, num_layers=gru_layers, batch_first=True)
        self.out = nn.Linear(hidden, num_symbols)

    def forward(self, z: torch.Tensor, steps: int | None = None) -> torch.Tensor:
        """Logits of the first `steps` positions (default all): the GRU is causal, so they equal
        the full decoding's first `steps`."""
        h = self.dense(z).unsqueeze(1).expand(-1, steps or self.max_length, -1)
        return self.out(self.gru(h.contiguous())[0])


def sequence_nets(
    preset: str,
    num_symbols: int,
    max_length: int,
    out_features: int | None = None,
    batch_norm: bool = False,
    gru: str = "torch",
) -> tuple[SequenceEncoder, SequenceDecoder]:
    """Encoder and decoder of a preset; `out_features` defaults to the latent size (2x for VAEs).
    `batch_norm`: after each encoder conv and on the decoder's input (GrammarVAE's expression
    models)."""
    if preset not in SEQUENCE_NETS:
        raise unknown("sequence net preset", preset, SEQUENCE_NETS)
    p = SEQUENCE_NETS[preset]
    encoder = SequenceEncoder(
        num_symbols,
        max_length,
        out_features or p["latent_dim"],
        p["conv_channels"],
        p["kernels"],
        p["hidden"],
        batch_norm,
    )
    decoder = SequenceDecoder(
        p["latent_dim"], num_symbols, max_length, p["gru_hidden"], batch_norm=batch_norm, gru=gru
    )
    return encoder, decoder
