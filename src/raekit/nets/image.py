"""The paper's Appendix C convolutional encoder and decoder, with a width multiplier.

Layers followed by batch norm have no bias: BN removes it, so it would only collect gradient
noise that Adam turns into full-size steps.

Encoder: 4 x (Conv stride 2 -> BN -> ReLU) with 128, 256, 512, 1024 filters -> flatten -> FC.
Decoder: FC to 8x8x1024 -> BN -> ReLU -> ConvT 512 -> ConvT 256 (-> ConvT 128 for 64x64 images),
each stride 2 with BN and ReLU, then a stride-1 layer to the image channels and a sigmoid.
`width` scales every channel count (1.0 is the paper's network).
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


class ImageEncoder(nn.Module):
    """x (N, C, H, W) in [0, 1] -> (N, out_features)."""

    def __init__(self, image_shape: tuple[int, int, int], out_features: int, kernel: int = 4,
                 width: float = 1.0):
        super().__init__()
        channels, height, width_px = image_shape
        if height % 16 or width_px % 16:
            raise RaekitError(f"image size {height}x{width_px} must be a multiple of 16 for this encoder")
        layers: list[nn.Module] = []
        in_ch = channels
        for base in (128, 256, 512, 1024):
            out_ch = _channels(base, width)
            lo, hi = _same_padding(kernel)
            layers += [*_padded_conv(in_ch, out_ch, kernel, 2, lo, hi, bias=False), nn.BatchNorm2d(out_ch),
                       nn.ReLU()]
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(in_ch * (height // 16) * (width_px // 16), out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).flatten(1))


class ImageDecoder(nn.Module):
    """z (N, latent_dim) -> images (N, C, H, W) in (0, 1)."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, kernel: int = 4,
                 width: float = 1.0):
        super().__init__()
        channels, height, width_px = image_shape
        if height != width_px or height % 8 or not _is_power_of_two(height // 8):
            raise RaekitError(f"decoder needs square images of side 8 * 2^k, got {height}x{width_px}")
        upsamplings = int(math.log2(height // 8))
        first = _channels(1024, width)
        self.fc = nn.Linear(latent_dim, first * 8 * 8, bias=False)
        self.fc_norm = nn.Sequential(nn.BatchNorm2d(first), nn.ReLU())
        layers: list[nn.Module] = []
        in_ch = first
        for base in (512, 256, 128, 64)[:upsamplings]:
            out_ch = _channels(base, width)
            layers += [_upsample(in_ch, out_ch, kernel), nn.BatchNorm2d(out_ch), nn.ReLU()]
            in_ch = out_ch
        # A stride-1 transposed convolution is a convolution; 'same' padding keeps the size.
        lo, hi = (kernel - 1) // 2, kernel - 1 - (kernel - 1) // 2
        layers += [*_padded_conv(in_ch, channels, kernel, 1, lo, hi), nn.Sigmoid()]
        self.blocks = nn.Sequential(*layers)
        self._first = first

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(z.shape[0], self._first, 8, 8)
        return self.blocks(self.fc_norm(h))


def _padded_conv(in_ch: int, out_ch: int, kernel: int, stride: int, lo: int, hi: int,
                 bias: bool = True) -> list[nn.Module]:
    # Symmetric padding goes into the convolution itself (no extra copy); asymmetric needs a pad layer.
    if lo == hi:
        return [nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=lo, bias=bias)]
    return [nn.ZeroPad2d((lo, hi, lo, hi)), nn.Conv2d(in_ch, out_ch, kernel, stride=stride, bias=bias)]


def _upsample(in_ch: int, out_ch: int, kernel: int) -> nn.ConvTranspose2d:
    # Doubling the size with 'same' semantics: out = 2 * in.
    padding = (kernel - 1) // 2
    output_padding = 2 - kernel + 2 * padding
    return nn.ConvTranspose2d(in_ch, out_ch, kernel, stride=2, padding=padding, output_padding=output_padding,
                              bias=False)


def _is_power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


def image_nets(image_shape: tuple[int, int, int], latent_dim: int, encoder_outputs: int,
               width: float = 1.0, kernel: int | None = None) -> tuple[ImageEncoder, ImageDecoder]:
    """The Appendix C pair for an image shape: kernel 5 for 64x64 images (CelebA), else 4."""
    if kernel is None:
        kernel = 5 if image_shape[1] >= 64 else 4
    return (ImageEncoder(image_shape, encoder_outputs, kernel, width),
            ImageDecoder(image_shape, latent_dim, kernel, width))
