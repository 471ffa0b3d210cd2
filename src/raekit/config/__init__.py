"""Run configuration: building a `RunConfig` from a preset, a dataset, a model and overrides.

`make_config(dataset, model, preset, **overrides)` is the only way configs are built, so every
run's config.yaml records the complete, resolved set of values. The dataclass and its checks are
in `raekit.config.run_config`; presets, loss weights and variants in their own modules.
"""

from __future__ import annotations

import dataclasses
from dataclasses import fields
from typing import Any

from raekit.config.dataset_specs import DATASET_SPECS, OWN_DATA, SEQUENCE_TASKS, paper_dataset_for
from raekit.config.loss_weights import converted_weights
from raekit.config.presets import IMAGE_PRESETS, PRESET_BY_DATASET, PRESET_BY_MODEL, PRESETS
from raekit.config.run_config import (
    IMAGE_SHAPES,
    SECTIONS,
    RunConfig,
    check_pair,
    check_type,
    check_value,
    config_sections,
    validate,
)
from raekit.config.variants import get_variant
from raekit.errors import RaekitError, unknown

__all__ = [
    "DATASET_NAMES",
    "IMAGE_SHAPES",
    "LATENT_DIMS",
    "SECTIONS",
    "RunConfig",
    "config_sections",
    "make_config",
    "parse_assignments",
    "replace",
    "validate",
]

# Views of the dataset table.
LATENT_DIMS = {name: spec.latent_dim for name, spec in DATASET_SPECS.items()}
DATASET_NAMES = (*DATASET_SPECS, OWN_DATA)
_FAMILY = {name: spec.family for name, spec in DATASET_SPECS.items() if spec.is_image}


def make_config(
    dataset: str = "digits", model: str = "rae-l2", preset: str = "tiny", **overrides: Any
) -> RunConfig:
    """Resolve a preset for a dataset and model, then apply `overrides` (field name -> value)."""
    check_value("dataset", dataset)
    check_value("preset", preset)
    variant = get_variant(check_type("model", model))
    model = variant.name
    check_pair(dataset, model)
    if preset in PRESET_BY_MODEL and dataset in SEQUENCE_TASKS:
        raise RaekitError(
            f"the {preset} preset covers the image models (the official code has no sequence "
            f"models); use --preset paper for {dataset!r}"
        )
    if preset in IMAGE_PRESETS and dataset in SEQUENCE_TASKS:
        raise RaekitError(
            f"the {preset} preset is for image datasets; use --preset cpu or paper for {dataset!r}"
        )
    reference, shape = dataset, None
    if dataset == OWN_DATA:
        reference, shape = _own_data_reference(overrides)
    beta, lam = converted_weights(model, reference, shape)
    rows = PRESET_BY_MODEL.get(preset)
    values = {
        "dataset": dataset,
        "model": model,
        "preset": preset,
        "beta": beta,
        "lam": lam,
        "latent_dim": LATENT_DIMS[reference],
        **PRESETS[preset],
        **PRESET_BY_DATASET.get((preset, dataset), {}),
        **(rows(_FAMILY[reference], model, variant.weight_rule) if rows else {}),
    }
    if dataset == OWN_DATA:  # the config is only valid with its images described
        values.update({k: overrides.pop(k) for k in _OWN_KEYS if k in overrides})
    config = RunConfig(**values)
    return replace(config, **overrides) if overrides else config


_OWN_KEYS = ("data", "data_sha256", "resolution", "channels", "data_seed")


def _own_data_reference(overrides: dict[str, Any]) -> tuple[str, tuple[int, int, int]]:
    """Own images take the loss weights and latent size of the paper's dataset nearest to them,
    the weights rescaled to their pixel count."""
    missing = [k for k in ("data", "resolution", "channels") if overrides.get(k) is None]
    if missing:
        raise RaekitError(
            f"dataset {OWN_DATA!r} is your own images: train with --data PATH "
            f"(missing {', '.join(missing)})"
        )
    channels = check_value("channels", overrides["channels"])
    resolution = check_value("resolution", overrides["resolution"])
    return paper_dataset_for(channels, resolution), (channels, resolution, resolution)


def replace(config: RunConfig, **overrides: Any) -> RunConfig:
    """dataclasses.replace with type checking and a 'did you mean' for unknown keys."""
    names = {f.name for f in fields(RunConfig)}
    clean = {}
    for key, value in overrides.items():
        key = {"lambda": "lam"}.get(key, key)
        if key not in names:
            raise unknown("config key", key, names)
        clean[key] = value
    if isinstance(clean.get("model"), str):
        clean["model"] = get_variant(clean["model"]).name
    return dataclasses.replace(config, **clean)


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """'key=value' strings (the CLI's --set) into a dict."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise RaekitError(f"--set expects key=value, got {pair!r}")
        if key.strip() in ("dataset", "model", "preset"):
            raise RaekitError(
                f"--set {key.strip()}=... is not accepted: choose the dataset, model and preset "
                f"with --dataset, --model and --preset (the other defaults follow from them)"
            )
        out[key.strip()] = value.strip()
    return out
