"""Model-level generation: codes, densities on codes, samples, reconstructions, interpolations.

Every function takes a trained model (or a run directory) and works in batches without autograd.
Densities are fitted on training-set codes (the encoder mean, for VAEs too) and checked on
validation codes, as in the paper's Section 4 and Appendix C.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from raekit import runs
from raekit.progress import progress
from raekit.errors import RaekitError
from raekit.locks import locking

DENSITY_DIR = "densities"


def as_model(model_or_run):
    """(model, config, run_dir or None) from a model object or a run directory."""
    if isinstance(model_or_run, (str, Path)):
        model, config = runs.load_run(model_or_run)
        return model, config, Path(model_or_run)
    return model_or_run.eval(), getattr(model_or_run, "config", None), None


def _device(model) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def encode_images(model, images: np.ndarray, batch_size: int = 500,
                  desc: str | None = "encoding codes") -> np.ndarray:
    """Codes (encoder means) of uint8 or [0, 1] float images, float64 (N, d); `desc` names the
    progress bar (None: no bar)."""
    model.eval()
    starts = range(0, len(images), batch_size)
    if desc is not None:
        starts = progress(starts, desc=f"{desc} ({len(images)} images)", unit="batch")
    out = [model.encode(_to_float(images[i:i + batch_size], _device(model))).double().cpu()
           for i in starts]
    return torch.cat(out).numpy() if out else np.zeros((0, model.latent_dim))


@torch.no_grad()
def decode_codes(model, codes: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Images in [0, 1], float32 (N, C, H, W), decoded from codes."""
    model.eval()
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] != model.latent_dim:
        raise RaekitError(f"codes must have shape (N, {model.latent_dim}), got {codes.shape}")
    dtype = next(model.parameters()).dtype
    out = [model.decode(torch.as_tensor(codes[i:i + batch_size], dtype=dtype, device=_device(model))).cpu()
           for i in range(0, len(codes), batch_size)]
    return torch.cat(out).float().numpy()


def reconstruct(model, images: np.ndarray, batch_size: int = 500, sampled: bool = False,
                seed: int = 0) -> np.ndarray:
    """Images decoded from their codes; `sampled`: from z ~ q(z|x) for VAEs and CV-VAEs (as the
    official code's reconstructions are), else from the posterior mean."""
    if not sampled or model.variant.encoder == "deterministic":
        return decode_codes(model, encode_images(model, images, batch_size), batch_size)
    model.eval()
    device = _device(model)
    generator = torch.Generator(device=device).manual_seed(seed)
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            mu, logvar = model.posterior(_to_float(images[i:i + batch_size], device))
            noise = torch.randn(mu.shape, generator=generator, device=device, dtype=mu.dtype)
            out.append(model.decode(mu + noise * model.posterior_std(logvar)).cpu())
    return torch.cat(out).float().numpy()


def _to_float(images: np.ndarray, device: torch.device) -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(images))
    if tensor.dtype == torch.uint8:
        return tensor.to(device).float().div_(255.0)
    if not tensor.is_floating_point():  # sequence indices
        return tensor.to(device)
    return tensor.to(device).float()


def model_fingerprint(model) -> str:
    """SHA-256 over the model's tensors: a density is only valid for the weights it was fitted on."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def density_stem(run_dir: Path, kind: str, components: int | None = None) -> Path:
    suffix = f"-{components}" if kind == "gmm" and components and components != 10 else ""
    return Path(run_dir) / DENSITY_DIR / f"{kind}{suffix}"


def training_codes(model, config, data=None) -> tuple[np.ndarray, np.ndarray]:
    """(train codes, validation codes) over the config's dataset (limits applied)."""
    train_images, valid_images = code_images(config, data)
    return encode_images(model, train_images), encode_images(model, valid_images)


def code_images(config, data=None) -> tuple[np.ndarray, np.ndarray]:
    """(training, validation) images whose codes densities are fitted and checked on (limits applied)."""
    if data is None:
        from raekit.train import load_data
        data = load_data(config)
    return data.train[:config.train_limit], data.valid[:config.valid_limit]


@locking("model_or_run", "run")
def fit_density(model_or_run, data=None, kind: str = "gmm", save: bool = True,
                **options: Any) -> tuple[Any, dict]:
    """Fit a density of `kind` on training codes; report train and validation log-likelihood.

    With a run directory (and save=True) the density is written to RUN/densities/ as
    safetensors + JSON, tagged with the model's fingerprint.
    """
    from raekit.density import fit_density as fit, save_density
    model, config, run_dir = as_model(model_or_run)
    train_codes, valid_codes = training_codes(model, config, data)
    options = run_density_options(config, kind, options)
    density, report = fit(train_codes, kind, valid_codes=valid_codes, **options)
    if save and run_dir is not None:
        stem = density_stem(run_dir, kind, options.get("components"))
        save_density(density, stem, meta=_density_meta(model))
        report["path"] = str(stem)
    return density, report


@locking("run_dir", "run")
def fit_density_streaming(run_dir: str | Path, data=None, chunk: int = 8192, **options: Any) -> tuple[Any, dict]:
    """The GMM of a run for datasets too large for one process: the codes are encoded by every
    rank torchrun started (or this process alone) into RUN/codes/{train,valid}.npy, and EM reads
    them chunk by chunk with its statistics all-reduced. Rank 0 saves the density."""
    from raekit import distributed
    from raekit.codes import encode_to_file, open_codes
    from raekit.density import save_density
    from raekit.density.streaming import fit_gmm_streaming, mean_log_likelihood
    model, config, run_dir = as_model(run_dir)
    if run_dir is None:
        raise RaekitError("streaming density fits need a run directory (the codes are written inside it)")
    options = run_density_options(config, "gmm", options)
    ctx = distributed.setup(config.device)
    try:
        model.to(ctx.device)
        files = {split: encode_to_file(model, images, run_dir / "codes" / f"{split}.npy", ctx)
                 for split, images in zip(("train", "valid"), code_images(config, data))}
        density = fit_gmm_streaming(files["train"], ctx, chunk, **options)
        report = {"kind": "gmm", "options": density.options, "world_size": ctx.world_size,
                  "n_iter": density.n_iter_, "converged": density.converged_}
        if ctx.is_main:  # rank 0 alone scores, saves and reports
            for split, path in files.items():
                codes = open_codes(path)
                report[f"n_{split}"], report[f"{split}_loglik"] = len(codes), mean_log_likelihood(density, codes, chunk)
            stem = density_stem(run_dir, "gmm", density.options["components"])
            save_density(density, stem, meta=_density_meta(model.cpu()))
            report["path"] = str(stem)
        distributed.barrier(ctx)
    finally:
        distributed.teardown(ctx)
    return density, report


def _density_meta(model) -> dict:
    return {"model_fingerprint": model_fingerprint(model), "latent_dim": int(model.latent_dim)}


def load_run_density(model_or_run, kind: str, components: int | None = None,
                     fit_if_missing: bool = True, data=None):
    """The saved density of a run (checked against the model), fitted first if missing."""
    from raekit.density import load_density
    model, config, run_dir = as_model(model_or_run)
    options = run_density_options(config, kind, {"components": components} if components else {})
    if run_dir is not None:
        stem = density_stem(run_dir, kind, options.get("components"))
        if stem.with_suffix(".json").exists():
            return load_density(stem, expect_meta=_density_meta(model))
    if not fit_if_missing:
        raise RaekitError(f"no {kind} density fitted for {run_dir}; run `raekit fit-density {run_dir} --density {kind}`")
    return fit_density(model if run_dir is None else run_dir, data, kind, **options)[0]


def run_density_options(config, kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """A run's density settings (its config's gmm_* and two_stage_* fields; the two-stage KL weight
    is the official one of the run's dataset), overridden by the options given."""
    if config is None:
        return dict(options)
    defaults = {
        "gmm": {"components": config.gmm_components, "max_iter": config.gmm_max_iter},
        "two-stage": {"dataset": config.dataset, "hidden": config.two_stage_hidden,
                      "layers": config.two_stage_layers, "epochs": config.two_stage_epochs,
                      "batch_size": config.two_stage_batch, "lr": config.two_stage_lr,
                      "schedule": config.two_stage_schedule, "sample_noise": config.two_stage_sample_noise},
    }
    return {**defaults.get(kind, {}), **options}


def sample_images(model, density, n: int, seed: int = 0) -> np.ndarray:
    return decode_codes(model, density.sample(n, seed=seed))


def interpolate_images(model, images_a: np.ndarray, images_b: np.ndarray, steps: int = 8,
                       method: str = "slerp") -> np.ndarray:
    """(pairs, steps, C, H, W) strips between the codes of images_a[i] and images_b[i]."""
    from raekit.interpolate import lerp, slerp
    if method not in ("slerp", "linear"):
        raise RaekitError(f"unknown interpolation method {method!r} (choices: slerp, linear)")
    za, zb = encode_images(model, images_a), encode_images(model, images_b)
    t = np.linspace(0.0, 1.0, steps)
    path = (slerp if method == "slerp" else lerp)(za, zb, t)
    flat = decode_codes(model, path.reshape(-1, za.shape[1]))
    return flat.reshape(len(za), steps, *flat.shape[1:])
