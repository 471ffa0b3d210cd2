"""Encoder and decoder networks."""

from raekit.nets.image import ImageDecoder, ImageEncoder, image_nets

__all__ = ["ImageDecoder", "ImageEncoder", "image_nets"]
