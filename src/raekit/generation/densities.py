"""Ex-post densities of a run: fitted on training-set codes, checked on validation codes (the
paper's Section 4 and Appendix C), saved in RUN/densities/ tagged with the model's fingerprint."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from raekit import distributed
from raekit.density import fit_density as fit
from raekit.density import load_density, save_density
from raekit.density.gmm import DEFAULT_COMPONENTS
from raekit.density.io import open_codes
from raekit.density.streaming import fit_gmm_streaming, mean_log_likelihood
from raekit.errors import RaekitError
from raekit.generation.codes import code_images, encode_images, encode_to_file
from raekit.runs import Run
from raekit.runs.locks import locking

DENSITY_DIR = "densities"


def model_fingerprint(model) -> str:
    """SHA-256 over the model's tensors: a density is only valid for the weights it was fitted on."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def density_stem(run_dir: Path, kind: str, components: int | None = None) -> Path:
    default = components in (None, DEFAULT_COMPONENTS)
    suffix = f"-{components}" if kind == "gmm" and not default else ""
    return Path(run_dir) / DENSITY_DIR / f"{kind}{suffix}"


def _codes(run: Run) -> tuple:
    """Codes of the (training, validation) images densities are fitted and checked on."""
    return tuple(encode_images(run.model, images) for images in code_images(run))


@locking("run", "run")
def fit_run_density(
    run: Run, kind: str = "gmm", save: bool = True, **options: Any
) -> tuple[Any, dict]:
    """Fit a density of `kind` on a run's training codes; report train and validation
    log-likelihood. `run`: a Run (a run directory or model object is made one with Run.of).

    With a run directory (and save=True) the density is written to RUN/densities/ as
    safetensors + JSON, tagged with the model's fingerprint; the Run keeps it for later use.
    """
    run = Run.of(run)
    train_codes, valid_codes = _codes(run)
    options = run_density_options(run.config, kind, options)
    density, report = fit(train_codes, kind, valid_codes=valid_codes, **options)
    if save and run.directory is not None:
        stem = density_stem(run.directory, kind, options.get("components"))
        save_density(density, stem, meta=_density_meta(run.model))
        report["path"] = str(stem)
    run.densities[(kind, options.get("components"))] = density
    return density, report


@locking("run", "run")
def fit_run_density_streaming(run: Run, chunk: int = 8192, **options: Any) -> tuple[Any, dict]:
    """The GMM of a run for datasets too large for one process: the codes are encoded by every
    rank torchrun started (or this process alone) into RUN/codes/{train,valid}.npy, and EM reads
    them chunk by chunk with its statistics all-reduced. Rank 0 saves the density."""
    run = Run.of(run)
    if run.directory is None:
        raise RaekitError(
            "streaming density fits need a run directory (the codes are written inside it)"
        )
    options = run_density_options(run.config, "gmm", options)
    ctx = distributed.setup(run.config.device)
    try:
        density, report = _streaming_fit(run, ctx, chunk, options)
        distributed.barrier(ctx)
    finally:
        distributed.teardown(ctx)
    return density, report


def _streaming_fit(run: Run, ctx, chunk: int, options: dict[str, Any]) -> tuple[Any, dict]:
    model = run.model.to(ctx.device)
    files = {
        split: encode_to_file(model, images, run.directory / "codes" / f"{split}.npy", ctx)
        for split, images in zip(("train", "valid"), code_images(run))
    }
    density = fit_gmm_streaming(files["train"], ctx, chunk, **options)
    report = {
        "kind": "gmm",
        "options": density.options,
        "world_size": ctx.world_size,
        "n_iter": density.n_iter_,
        "converged": density.converged_,
    }
    if ctx.is_main:  # rank 0 alone scores, saves and reports
        for split, path in files.items():
            codes = open_codes(path)
            report[f"n_{split}"], report[f"{split}_loglik"] = (
                len(codes),
                mean_log_likelihood(density, codes, chunk),
            )
        stem = density_stem(run.directory, "gmm", density.options["components"])
        save_density(density, stem, meta=_density_meta(model.cpu()))
        report["path"] = str(stem)
    return density, report


def _density_meta(model) -> dict:
    return {"model_fingerprint": model_fingerprint(model), "latent_dim": int(model.latent_dim)}


def load_run_density(
    run: Run, kind: str, components: int | None = None, fit_if_missing: bool = True
):
    """The density of a run: kept by the Run, else read from RUN/densities/ (checked against the
    model), else fitted (and saved) when `fit_if_missing`."""
    run = Run.of(run)
    options = run_density_options(
        run.config, kind, {"components": components} if components else {}
    )
    key = (kind, options.get("components"))
    if key in run.densities:
        return run.densities[key]
    if run.directory is not None:
        stem = density_stem(run.directory, kind, options.get("components"))
        if stem.with_suffix(".json").exists():
            run.densities[key] = load_density(stem, expect_meta=_density_meta(run.model))
            return run.densities[key]
    if not fit_if_missing:
        raise RaekitError(
            f"no {kind} density fitted for {run.directory}; "
            f"run `raekit fit-density {run.directory} --density {kind}`"
        )
    return fit_run_density(run, kind, **options)[0]


def run_density_options(config, kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """A run's density settings (its config's gmm_* and two_stage_* fields; the two-stage KL weight
    is the official one of the run's dataset), overridden by the options given."""
    if config is None:
        return dict(options)
    defaults = {
        "gmm": {"components": config.gmm_components, "max_iter": config.gmm_max_iter},
        "two-stage": {
            "dataset": config.paper_dataset,
            "hidden": config.two_stage_hidden,
            "layers": config.two_stage_layers,
            "epochs": config.two_stage_epochs,
            "batch_size": config.two_stage_batch,
            "lr": config.two_stage_lr,
            "schedule": config.two_stage_schedule,
            "sample_noise": config.two_stage_sample_noise,
        },
    }
    return {**defaults.get(kind, {}), **options}
