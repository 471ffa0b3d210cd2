"""Run configuration: one frozen dataclass, size presets, and the official loss weights.

`make_config(dataset, model, preset, **overrides)` is the only way configs are built, so every
run's config.yaml records the complete, resolved set of values.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, fields
from typing import Any

from raekit import official
from raekit.errors import RaekitError, unknown

# (channels, height, width) and latent size of every dataset (Appendix C; MNIST-like padded to 32).
IMAGE_SHAPES = {
    "mnist": (1, 32, 32),
    "fashion-mnist": (1, 32, 32),
    "digits": (1, 32, 32),
    "cifar10": (3, 32, 32),
    "celeba": (3, 64, 64),
}
LATENT_DIMS = {
    "mnist": 16,
    "fashion-mnist": 16,
    "digits": 16,
    "cifar10": 128,
    "celeba": 64,
    "expressions": 25,
    "molecules": 56,
}
SEQUENCE_TASKS = ("expressions", "molecules")
# Sequence models: VAEs use the ELBO's unit KL weight; GRAE uses MNIST RAE-L2's weights in raekit's
# units (1.28e-2, 1.024e-4), rounded: both reconstructions are per-sample sums of similar size.
SEQUENCE_WEIGHTS = {"cvae": (1.0, 0.0), "gvae": (1.0, 0.0), "grae": (1e-2, 1e-4)}

# Official weights (official code's configurations, its units: per-pixel mean MSE, beta * mean_d z^2).
# model -> dataset family -> (latent weight, decoder weight).
OFFICIAL_WEIGHTS = {
    "vae": {"mnist": (0.312, 0), "cifar10": (0.024, 0), "celeba": (0.09024, 0)},
    "2svae": {"mnist": (0.312, 0), "cifar10": (0.024, 0), "celeba": (0.09024, 0)},
    "cv-vae": {"mnist": (0.039, 0), "cifar10": (9e-4, 0), "celeba": (0.01, 0)},
    "wae": {"mnist": (3e-2, 0), "cifar10": (6e-3, 0), "celeba": (100, 0)},
    "rae-gp": {"mnist": (1e-4, 0.5e-7), "cifar10": (9e-4, 0), "celeba": (1e-4, 1e-7)},
    "rae-l2": {"mnist": (1e-4, 1e-7), "cifar10": (1e-3, 1e-6), "celeba": (1e-4, 1e-7)},
    "rae-sn": {"mnist": (9e-3, 0), "cifar10": (0.03, 0), "celeba": (2.4e-3, 0)},
    "rae": {"mnist": (5e-4, 0), "cifar10": (1e-2, 0), "celeba": (1e-4, 0)},
    "ae": {"mnist": (0, 0), "cifar10": (0, 0), "celeba": (0, 0)},
}
_FAMILY = {
    "mnist": "mnist",
    "fashion-mnist": "mnist",
    "digits": "mnist",
    "cifar10": "cifar10",
    "celeba": "celeba",
}


# WAE on CelebA: the official `per_pix_recon_loss` is 0.05 * the per-image sum (no `recon_loss_type`).
_WAE_RECON_SUM_SCALE = {"celeba": 0.05}


def converted_weights(model: str, dataset: str) -> tuple[float, float]:
    """Official (beta, lambda) in raekit's units (per-image sums over H*W*C, Eq. 8 and 11).

    Each official weight is multiplied by the factor that turns that family's official
    reconstruction into raekit's per-image sum:
    - "rae": Keras mse is a mean over H*W*C and the latent term beta * mean_d z^2, so
      beta_ours = 2 * beta * HWC / d (Eq. 11's 1/2) and lambda_L2 = lambda * HWC; the official
      gradient penalty is also a mean over d: lambda_GP = lambda * HWC / d.
    - "std_vae": a sum over H, W of a mean over channels: beta_ours = C * beta.
    - "wae": a mean over H*W*C: beta * HWC; CelebA's 0.05 * sum: beta / 0.05.
    """
    if model in SEQUENCE_WEIGHTS:
        return SEQUENCE_WEIGHTS[model]
    from raekit.models.variants import get_variant  # models import this module

    variant, family = get_variant(model), _FAMILY[dataset]
    beta, lam = OFFICIAL_WEIGHTS[variant.name][family]
    c, h, w = IMAGE_SHAPES[dataset]
    pixels, d = c * h * w, LATENT_DIMS[dataset]
    if variant.weight_rule == "std_vae":
        return float(c * beta), 0.0
    if variant.weight_rule == "wae":
        scale = _WAE_RECON_SUM_SCALE.get(family)
        return float(beta / scale if scale else beta * pixels), 0.0
    lam_scale = pixels / d if variant.decoder_term == "gp" else pixels
    return float(2.0 * beta * pixels / d), float(lam * lam_scale)


@dataclass(frozen=True)
class RunConfig:
    dataset: str = "digits"  # dataset name (see raekit.data.DATASETS)
    model: str = "rae-l2"  # variant name (see raekit.models.VARIANTS)
    preset: str = "tiny"  # preset the defaults came from: paper, cpu, tiny or official
    data_root: str | None = (
        None  # folder of the dataset's files; None: raekit's cache / system paths
    )
    latent_dim: int = 16  # size of z (paper: 16 MNIST, 128 CIFAR-10, 64 CelebA)
    width: float = 1.0  # channel multiplier of the Appendix C nets (1.0 = the paper)
    filters: int = 128  # first encoder conv's filters (x2, x4, x8 after; decoder mirrors them)
    net: str = (
        "paper"  # "paper": Appendix C; "official": the official Keras layers (raekit.official)
    )
    scale_input: bool = False  # the encoder sees 2x - 1 (official MNIST / CIFAR-10 nets)
    input_noise: float = (
        0.0  # s: training inputs + clip(N(0, s^2), -s, s) (official CelebA WAE: 0.01)
    )
    beta: float = 0.0  # weight of the latent term: KL, MMD or 1/2 ||z||^2
    lam: float = 0.0  # weight of the decoder regulariser: L2 or gradient penalty
    l2_layers: str = "all"  # RAE-L2's weights: "all" decoder conv/linear or "transposed" convs only
    cv_sigma: float = 0.7  # CV-VAE's fixed encoder noise (standard deviation)
    gp_estimator: str = (
        "official"  # "official": grad of sum D(z)^2 (Table 1's penalty); "projection": ||J||_F^2
    )
    gp_projections: int = 1  # random projections per step for the "projection" estimator
    sn_all_layers: bool = False  # RAE-SN: also normalise the encoder (official code does)
    mc_samples: int = 1  # VAE / CV-VAE: posterior draws per input for the reconstruction
    epochs: int = 100  # maximum epochs (paper: 100; CelebA 70)
    batch_size: int = 100  # mini-batch size (paper: 100)
    lr: float = 1e-3  # Adam's starting learning rate
    lr_factor: float = 0.5  # learning rate multiplier on a validation plateau
    lr_patience: int = 5  # epochs without validation improvement before that cut
    min_lr: float = 0.0  # the plateau cuts stop here (GrammarVAE: 1e-4)
    train_limit: int | None = None  # use only the first N training images (None: all)
    valid_limit: int | None = None  # use only the first N validation images (None: all)
    max_rows: int | None = None  # sequence tasks: strings read or generated (None: all / 100k)
    sequence_recipe: str = (
        "raekit"  # sequence tasks: "grammarvae" (make_config's default) or "raekit"
    )
    seed: int = 0  # seeds weights, shuffling and noise
    keep_checkpoints: int = 3  # how many recent checkpoints to keep
    skip_nonfinite: int = 0  # bad (NaN/Inf) batches that may be skipped before stopping
    device: str = "cpu"  # torch device, e.g. "cuda"
    # Ex-post densities (defaults of `raekit fit-density` and `evaluate` for this run).
    gmm_components: int = 10  # the "GMM" column's components (paper: 10)
    gmm_max_iter: int = 100  # EM iterations at most (paper: 100)
    two_stage_hidden: int = 256  # second-stage VAE: MLP width ...
    two_stage_layers: int = 3  # ... and hidden layers
    two_stage_epochs: int = 30  # its epochs, batch size and Adam learning rate
    two_stage_batch: int = 128
    two_stage_lr: float = 1e-3
    two_stage_schedule: str = (
        "cosine"  # "cosine" decay, or "plateau": halve after 3 epochs without gain
    )
    two_stage_sample_noise: bool = True  # samples add the decoder noise (False: the decoder mean)
    # Evaluation protocol (Table 1).
    eval_images: str = "test"  # REC and Interp. images: "test" (Table 1's caption) or "valid"
    rec_sampled: bool = False  # VAE / CV-VAE reconstructions decode a sampled z, not the mean
    rec_second_stage: bool = (
        False  # the 2-stage VAE's reconstructions pass through its second stage
    )

    def __post_init__(self):
        validate(self)

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        """(C, H, W) of an image dataset; None for sequence tasks."""
        return IMAGE_SHAPES.get(self.dataset)


_FIELD_TYPES = {f.name: f.type for f in fields(RunConfig)}

PRESETS: dict[str, dict[str, Any]] = {
    # The paper's Appendix C network and schedule.
    "paper": {"width": 1.0, "epochs": 100},
    # 1/16 width, 8 epochs: ~65 s per 50k-image MNIST epoch on 2 CPU cores, so all nine Table 1
    # models train and evaluate in about 2 hours (1/8 width costs 2.2x per epoch).
    "cpu": {"width": 0.0625, "epochs": 8},
    # About 30 s per MNIST model on 2 cores (240 steps): for tests and the demo.
    "tiny": {"width": 0.0625, "epochs": 4, "train_limit": 6000, "valid_limit": 1000},
    # The paper's network size, with the official code's choices where they depart from the paper's
    # text (raekit.official; per dataset and model).
    "official": {"width": 1.0, "epochs": 100},
}
_GRAMMARVAE_EXPRESSIONS = {
    "sequence_recipe": "grammarvae",
    "lr_factor": 0.2,
    "lr_patience": 1,
    "min_lr": 1e-4,
}
_GRAMMARVAE_MOLECULES = {
    "sequence_recipe": "grammarvae",
    "lr_factor": 0.2,
    "lr_patience": 3,
    "min_lr": 1e-4,
}
# Per (dataset family, model) rows of a preset: preset -> function(family, model, official family).
_PRESET_BY_MODEL = {"official": official.official_rows}
# Fields that take one of a few values.
CHOICES = {
    "gp_estimator": ("official", "projection"),
    "net": ("paper", "official"),
    "l2_layers": ("all", "transposed"),
    "two_stage_schedule": ("cosine", "plateau"),
    "eval_images": ("test", "valid"),
}
_PRESET_BY_DATASET = {
    ("paper", "celeba"): {"epochs": 70},
    ("cpu", "digits"): {"epochs": 60},
    ("tiny", "digits"): {"epochs": 12},
    # GrammarVAE's networks and training scripts (expressions: 50 epochs, batches of 600, LR x0.2
    # after 1 epoch without improvement; molecules: 100 epochs, 500, x0.2 after 3; both down to
    # 1e-4); the CPU presets use fewer strings, and for molecules a GRU of 128.
    ("paper", "expressions"): {
        "epochs": 50,
        "batch_size": 600,
        "width": 1.0,
        "max_rows": 100_000,
        **_GRAMMARVAE_EXPRESSIONS,
    },
    ("cpu", "expressions"): {
        "epochs": 30,
        "batch_size": 600,
        "width": 1.0,
        "max_rows": 100_000,
        **_GRAMMARVAE_EXPRESSIONS,
    },
    ("tiny", "expressions"): {
        "epochs": 3,
        "batch_size": 100,
        "width": 1.0,
        "max_rows": 2_000,
        "train_limit": None,
        "valid_limit": None,
        **_GRAMMARVAE_EXPRESSIONS,
    },
    ("paper", "molecules"): {
        "epochs": 100,
        "batch_size": 500,
        "width": 1.0,
        **_GRAMMARVAE_MOLECULES,
    },
    ("cpu", "molecules"): {
        "epochs": 20,
        "batch_size": 500,
        "width": 1.0,
        "max_rows": 20_000,
        **_GRAMMARVAE_MOLECULES,
    },
    ("tiny", "molecules"): {
        "epochs": 2,
        "batch_size": 100,
        "width": 1.0,
        "max_rows": 500,
        "train_limit": None,
        "valid_limit": None,
        **_GRAMMARVAE_MOLECULES,
    },
}


def make_config(
    dataset: str = "digits", model: str = "rae-l2", preset: str = "tiny", **overrides: Any
) -> RunConfig:
    """Resolve a preset for a dataset and model, then apply `overrides` (field name -> value)."""
    _check_value("dataset", dataset)
    _check_value("preset", preset)
    from raekit.models.variants import get_variant  # models import this module

    variant = get_variant(_check_type("model", model))
    model = variant.name
    _check_pair(dataset, model)
    if preset in _PRESET_BY_MODEL and dataset in SEQUENCE_TASKS:
        raise RaekitError(
            f"the {preset} preset covers the image models (the official code has no sequence "
            f"models); use --preset paper for {dataset!r}"
        )
    beta, lam = converted_weights(model, dataset)
    rows = _PRESET_BY_MODEL.get(preset)
    values = {
        "dataset": dataset,
        "model": model,
        "preset": preset,
        "beta": beta,
        "lam": lam,
        "latent_dim": LATENT_DIMS[dataset],
        **PRESETS[preset],
        **_PRESET_BY_DATASET.get((preset, dataset), {}),
        **(rows(_FAMILY[dataset], model, variant.weight_rule) if rows else {}),
    }
    config = RunConfig(**values)
    return replace(config, **overrides) if overrides else config


# ---- validation: one table of rules, checked whenever a RunConfig is built (make_config, --set,
# a hand-edited config.yaml read back), so a bad value fails at once with its name and the rule.


class _Names:
    """A rule: the value is one of a table's names (an unknown one gets a 'did you mean')."""

    def __init__(self, kind: str):
        self.kind = kind

    def choices(self) -> tuple[str, ...]:
        if self.kind == "model":
            from raekit.models.variants import VARIANTS  # models import this module

            return tuple(VARIANTS)
        return tuple({"dataset": LATENT_DIMS, "preset": PRESETS}[self.kind])


def _is_device(value: str) -> bool:
    return re.fullmatch(r"(cpu|cuda|mps|xpu)(:\d+)?", value) is not None


# key -> (test of a value of the field's type, or the table it must name; what a valid value is).
RULES: dict[str, tuple[Any, str]] = {
    "dataset": (_Names("dataset"), "a known dataset"),
    "model": (_Names("model"), "a known model"),
    "preset": (_Names("preset"), "a known preset"),
    "latent_dim": (lambda v: v >= 1, "at least 1"),
    "width": (lambda v: 0 < v < math.inf, "a finite number > 0"),
    "beta": (lambda v: 0 <= v < math.inf, "a finite number >= 0"),
    "lam": (lambda v: 0 <= v < math.inf, "a finite number >= 0"),
    "cv_sigma": (lambda v: 0 < v < math.inf, "a finite number > 0"),
    "gp_estimator": (lambda v: v in ("official", "projection"), "'official' or 'projection'"),
    "gp_projections": (lambda v: v >= 1, "at least 1"),
    "mc_samples": (lambda v: v >= 1, "at least 1"),
    "epochs": (lambda v: v >= 1, "at least 1"),
    "batch_size": (lambda v: v >= 1, "at least 1"),
    "lr": (lambda v: 0 < v < math.inf, "a finite number > 0"),
    "lr_factor": (lambda v: 0 < v < 1, "between 0 and 1 (exclusive)"),
    "lr_patience": (lambda v: v >= 0, "at least 0"),
    "train_limit": (lambda v: v >= 1, "at least 1, or none for all"),
    "valid_limit": (lambda v: v >= 1, "at least 1, or none for all"),
    "max_rows": (lambda v: v >= 1, "at least 1, or none for all"),
    "seed": (lambda v: 0 <= v < 2**63, "an integer in [0, 2^63)"),
    "keep_checkpoints": (lambda v: v >= 1, "at least 1"),
    "skip_nonfinite": (lambda v: v >= 0, "at least 0"),
    "device": (_is_device, "cpu, cuda, cuda:N, mps or xpu"),
}
_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def validate(config: RunConfig) -> None:
    """Coerce every field to its declared type, then check it against RULES (RaekitError if not)."""
    for f in fields(config):
        object.__setattr__(config, f.name, _check_value(f.name, getattr(config, f.name)))
    _check_pair(config.dataset, config.model)


def _check_value(key: str, value: Any) -> Any:
    value = _check_type(key, value)
    if value is None or key not in RULES:
        return value
    rule, wanted = RULES[key]
    if isinstance(rule, _Names):
        if value not in rule.choices():
            raise unknown(key, value, rule.choices())
    elif not rule(value):
        raise RaekitError(f"config {key} must be {wanted}, got {value!r}")
    return value


def _check_type(key: str, value: Any) -> Any:
    """`value` as the type the field declares; text (from --set or YAML) is converted."""
    declared = str(_FIELD_TYPES[key])
    optional = "None" in declared
    kind = _TYPES[declared.split(" ")[0]]
    if value is None or (
        optional and isinstance(value, str) and value.lower() in ("none", "null", "")
    ):
        if optional:
            return None
        raise RaekitError(f"config {key} expects {declared}, got none")
    if isinstance(value, str) and kind is not str:
        return _from_text(key, value, kind, declared)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if type(value) is not kind:
        raise RaekitError(f"config {key} expects {declared}, got {type(value).__name__} {value!r}")
    return value


def _from_text(key: str, text: str, kind: type, declared: str) -> Any:
    try:
        if kind is bool:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("true", "1", "yes")
        return kind(text)
    except ValueError:
        raise RaekitError(f"config {key} expects {declared}, got {text!r}") from None


def _check_pair(dataset: str, model: str) -> None:
    from raekit.models.variants import get_variant  # models import this module

    variant = get_variant(model)
    if (dataset in SEQUENCE_TASKS) != (variant.data != "image"):
        kind = "a sequence task" if dataset in SEQUENCE_TASKS else "an image dataset"
        raise RaekitError(
            f"model {model!r} does not apply to {kind} ({dataset!r}); sequence tasks take "
            f"cvae, gvae or grae, image datasets the image models"
        )


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
        from raekit.models.variants import get_variant

        clean["model"] = get_variant(clean["model"]).name
    for key, allowed in CHOICES.items():
        if key in clean and clean[key] not in allowed:
            raise unknown(key, clean[key], allowed)
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
