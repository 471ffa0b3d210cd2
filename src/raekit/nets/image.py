"""The paper's Appendix C convolutional encoder and decoder, with a width multiplier.

Layers followed by batch norm have no bias: BN removes it, so it would only collect gradient
noise that Adam turns into full-size steps.

Encoder: 4 x (Conv stride 2 -> BN -> ReLU) with 128, 256, 512, 1024 filters -> flatten -> FC.
Decoder: FC to 8x8x1024 -> BN -> ReLU -> ConvT 512 -> ConvT 256 (-> ConvT 128 for 64x64 images),
each stride 2 with BN and ReLU, then a stride-1 layer to the image channels and a sigmoid.
`width` scales every channel count (1.0 is the paper's network).

`style="official"` builds the official Keras layers instead (models/rae/rae_mnist.py, rae_celeba.py):
every conv and dense has a bias, the decoder's Dense feeds the reshape directly (no BN/ReLU), all
decoder layers are transposed convs with TensorFlow's 'same' alignment, and the layers start as
Keras starts them (Glorot-uniform weights, zero biases, BN momentum 0.99 and epsilon 1e-3).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from raekit.errors import RaekitError


def _channels(base: int, width: float) -> int:
    return max(1, int(round(base * width)))


def _same_padding(kernel: int) -> tuple[int, int]:
    # TensorFlow 'same' padding for stride 2 on an even size: k - 2 in total, the extra pixel at the
    # end (the official code is Keras, so output sizes match it exactly).
    total = max(kernel - 2, 0)
    return total // 2, total - total // 2


# Keras's BatchNormalization: moving averages keep 0.99 of the old value; epsilon 1e-3.
_KERAS_BN = {"momentum": 0.01, "eps": 1e-3}
STYLES = ("paper", "official")


def _norm(channels: int, official: bool) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, **(_KERAS_BN if official else {}))


class ImageEncoder(nn.Module):
    """x (N, C, H, W) in [0, 1] -> (N, out_features). `scale_input`: the network sees 2x - 1."""

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        out_features: int,
        kernel: int = 4,
        width: float = 1.0,
        filters: int = 128,
        style: str = "paper",
        scale_input: bool = False,
    ):
        super().__init__()
        channels, height, width_px = image_shape
        if height % 16 or width_px % 16:
            raise RaekitError(
                f"image size {height}x{width_px} must be a multiple of 16 for this encoder"
            )
        official = style == "official"
        layers: list[nn.Module] = []
        in_ch = channels
        for multiple in (1, 2, 4, 8):
            out_ch = _channels(filters * multiple, width)
            lo, hi = _same_padding(kernel)
            layers += [
                *_padded_conv(in_ch, out_ch, kernel, 2, lo, hi, bias=official),
                _norm(out_ch, official),
                nn.ReLU(),
            ]
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(in_ch * (height // 16) * (width_px // 16), out_features)
        self.scale_input = scale_input

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale_input:
            x = x * 2.0 - 1.0
        return self.fc(self.features(x).flatten(1))


class ImageDecoder(nn.Module):
    """z (N, latent_dim) -> images (N, C, H, W) in (0, 1)."""

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        latent_dim: int,
        kernel: int = 4,
        width: float = 1.0,
        filters: int = 128,
        style: str = "paper",
    ):
        super().__init__()
        channels, height, width_px = image_shape
        if height != width_px or height % 8 or not _is_power_of_two(height // 8):
            raise RaekitError(
                f"decoder needs square images of side 8 * 2^k, got {height}x{width_px}"
            )
        official = style == "official"
        upsamplings = int(math.log2(height // 8))
        first = _channels(
            1024, width
        )  # 8x8x1024 in both (the official code fixes it whatever num_filters)
        self.fc = nn.Linear(latent_dim, first * 8 * 8, bias=official)
        self.fc_norm = (
            nn.Identity() if official else nn.Sequential(nn.BatchNorm2d(first), nn.ReLU())
        )
        layers: list[nn.Module] = []
        in_ch = first
        for multiple in (4, 2, 1, 0.5)[:upsamplings]:
            out_ch = _channels(filters * multiple, width)
            up = (
                SameConvTranspose2d(in_ch, out_ch, kernel, 2)
                if official
                else _upsample(in_ch, out_ch, kernel)
            )
            layers += [up, _norm(out_ch, official), nn.ReLU()]
            in_ch = out_ch
        if official:
            layers += [SameConvTranspose2d(in_ch, channels, kernel, 1), nn.Sigmoid()]
        else:  # a stride-1 transposed convolution is a convolution; 'same' padding keeps the size
            lo, hi = (kernel - 1) // 2, kernel - 1 - (kernel - 1) // 2
            layers += [*_padded_conv(in_ch, channels, kernel, 1, lo, hi), nn.Sigmoid()]
        self.blocks = nn.Sequential(*layers)
        self._first = first

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(z.shape[0], self._first, 8, 8)
        return self.blocks(self.fc_norm(h))


def _padded_conv(
    in_ch: int, out_ch: int, kernel: int, stride: int, lo: int, hi: int, bias: bool = True
) -> list[nn.Module]:
    # Symmetric padding goes into the convolution itself (no extra copy); asymmetric needs a pad layer.
    if lo == hi:
        return [nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=lo, bias=bias)]
    return [
        nn.ZeroPad2d((lo, hi, lo, hi)),
        nn.Conv2d(in_ch, out_ch, kernel, stride=stride, bias=bias),
    ]


def _upsample(in_ch: int, out_ch: int, kernel: int) -> nn.ConvTranspose2d:
    # Doubling the size with 'same' semantics: out = 2 * in.
    padding = (kernel - 1) // 2
    output_padding = 2 - kernel + 2 * padding
    return nn.ConvTranspose2d(
        in_ch, out_ch, kernel, stride=2, padding=padding, output_padding=output_padding, bias=False
    )


class SameConvTranspose2d(nn.ConvTranspose2d):
    """Keras Conv2DTranspose(padding='same'): output = stride * input, aligned as TensorFlow aligns it.

    It is the adjoint of a 'same' convolution that pads k - s pixels, the smaller half first, so of
    the full (in - 1) * s + k outputs it drops that half at the start and the rest at the end
    (PyTorch's `padding` drops equal amounts; the extra pixel is cut here).
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int):
        extra = max(kernel - stride, 0)
        super().__init__(in_ch, out_ch, kernel, stride=stride, padding=extra // 2)
        self._cut = extra - 2 * (extra // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(x)
        return y[..., : y.shape[-2] - self._cut, : y.shape[-1] - self._cut] if self._cut else y


def keras_init(module: nn.Module) -> nn.Module:
    """Keras's defaults: Glorot-uniform conv and dense kernels, zero biases."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return module


def _is_power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


def image_nets(
    image_shape: tuple[int, int, int],
    latent_dim: int,
    encoder_outputs: int,
    width: float = 1.0,
    kernel: int | None = None,
    filters: int = 128,
    style: str = "paper",
    scale_input: bool = False,
) -> tuple[ImageEncoder, ImageDecoder]:
    """The Appendix C pair (or the official one) for an image shape: kernel 5 for 64x64 images
    (CelebA), else 4."""
    if style not in STYLES:
        raise RaekitError(f"unknown net {style!r} (choices: {', '.join(STYLES)})")
    if kernel is None:
        kernel = 5 if image_shape[1] >= 64 else 4
    nets = (
        ImageEncoder(image_shape, encoder_outputs, kernel, width, filters, style, scale_input),
        ImageDecoder(image_shape, latent_dim, kernel, width, filters, style),
    )
    if style == "official":
        for net in nets:
            keras_init(net)
    return nets
