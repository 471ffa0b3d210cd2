"""Generation on trained models: codes, ex-post densities of runs, samples, reconstructions,
interpolations and nearest neighbours."""

from raekit.generation.codes import decode_codes, encode_images, encode_to_file, reconstruct
from raekit.generation.densities import (
    fit_run_density,
    fit_run_density_streaming,
    load_run_density,
    model_fingerprint,
    run_density_options,
)
from raekit.generation.sampling import interpolate_images, sample_images

__all__ = [
    "decode_codes",
    "encode_images",
    "encode_to_file",
    "fit_run_density",
    "fit_run_density_streaming",
    "interpolate_images",
    "load_run_density",
    "model_fingerprint",
    "reconstruct",
    "run_density_options",
    "sample_images",
]
