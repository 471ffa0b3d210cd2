"""What a valid run config is: the `RunConfig` dataclass, its sections, and the checks that
run whenever one is built (`make_config`, `--set`, a hand-edited config.yaml read back)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from raekit.config import rules as config_rules
from raekit.config.dataset_specs import DATASET_SPECS, OWN_DATA, SEQUENCE_TASKS, paper_dataset_for
from raekit.config.variants import get_variant
from raekit.errors import RaekitError

# Views of the dataset table.
IMAGE_SHAPES = {name: spec.shape for name, spec in DATASET_SPECS.items() if spec.is_image}


@dataclass(frozen=True)
class RunConfig:
    """Every setting of a run, in five sections (`SECTIONS`): data, model, training, ex-post
    densities, evaluation protocol. Names are flat: `config.epochs`, `--set epochs=5`, and
    config.yaml's keys (written under one comment line per section)."""

    # data: the dataset, its files and how much of it is used
    dataset: str = "digits"  # dataset name (see raekit.data.DATASETS)
    # folder of the dataset's files; None: raekit's cache / system paths
    data_root: str | None = None
    # Own images (dataset: custom): where they are, their fingerprint, size and split.
    data: str | None = None  # absolute path of the image folder, path list or .npy/.npz array
    data_sha256: str | None = None  # fingerprint of the images read there (later reads must match)
    resolution: int | None = None  # side of the square images: 32, 64 or 128
    channels: int | None = None  # 1 (greyscale) or 3 (RGB)
    data_seed: int = 0  # seed of the train / validation / test split (10% / 10% held out)
    train_limit: int | None = None  # use only the first N training images (None: all)
    valid_limit: int | None = None  # use only the first N validation images (None: all)
    max_rows: int | None = None  # sequence tasks: strings read or generated (None: all / 100k)
    # model: the variant, its nets and its loss
    model: str = "rae-l2"  # variant name (see raekit.models.VARIANTS)
    preset: str = "tiny"  # preset the defaults came from: paper, cpu, tiny or official
    latent_dim: int = 16  # size of z (paper: 16 MNIST, 128 CIFAR-10, 64 CelebA)
    width: float = 1.0  # channel multiplier of the Appendix C nets (1.0 = the paper)
    filters: int = 128  # first encoder conv's filters (x2, x4, x8 after; decoder mirrors them)
    net: str = "paper"  # "paper": Appendix C; "official": the official Keras layers (raekit.config.official)
    scale_input: bool = False  # the encoder sees 2x - 1 (official MNIST / CIFAR-10 nets)
    # s: training inputs + clip(N(0, s^2), -s, s) (official CelebA WAE: 0.01)
    input_noise: float = 0.0
    beta: float = 0.0  # weight of the latent term: KL, MMD or 1/2 ||z||^2
    lam: float = 0.0  # weight of the decoder regulariser: L2 or gradient penalty
    l2_layers: str = "all"  # RAE-L2's weights: "all" decoder conv/linear or "transposed" convs only
    cv_sigma: float = 0.7  # CV-VAE's fixed encoder noise (standard deviation)
    # "official": grad of sum D(z)^2 (Table 1's penalty); "projection": ||J||_F^2
    gp_estimator: str = "official"
    gp_projections: int = 1  # random projections per step for the "projection" estimator
    sn_all_layers: bool = False  # RAE-SN: also normalise the encoder (official code does)
    mc_samples: int = 1  # VAE / CV-VAE: posterior draws per input for the reconstruction
    # sequence tasks: "grammarvae" (make_config's default) or "raekit"
    sequence_recipe: str = "raekit"
    # training: the optimiser, its schedule, checkpoints and where it runs
    epochs: int = 100  # maximum epochs (paper: 100; CelebA 70)
    batch_size: int = 100  # mini-batch size (paper: 100)
    lr: float = 1e-3  # Adam's starting learning rate
    lr_factor: float = 0.5  # learning rate multiplier on a validation plateau
    lr_patience: int = 5  # epochs without validation improvement before that cut
    min_lr: float = 0.0  # the plateau cuts stop here (GrammarVAE: 1e-4)
    seed: int = 0  # seeds weights, shuffling and noise
    keep_checkpoints: int = 3  # how many recent checkpoints to keep
    # epoch-end checkpoints kept beside the recent ones, with the best weights as of each such
    # epoch (RUN/kept/): comma-separated epochs, e.g. "8,25,50" ("": none)
    keep_epochs: str = ""
    # Early stop (raekit.training.stopping): once the learning rate has been cut stop_after_cuts
    # times, stop after stop_patience epochs without a new best validation loss (None: never)
    stop_patience: int | None = None
    stop_after_cuts: int = 0
    skip_nonfinite: int = 0  # bad (NaN/Inf) batches that may be skipped before stopping
    device: str = "auto"  # torch device: auto (CUDA, then MPS, else CPU), cpu, cuda, cuda:N, mps
    engine: str = "fast"  # "fast": compiled CPU training steps (raekit.training.fast); "eager"
    # density: ex-post densities (defaults of `raekit fit-density` and `evaluate` for this run)
    gmm_components: int = 10  # the "GMM" column's components (paper: 10)
    gmm_max_iter: int = 100  # EM iterations at most (paper: 100)
    two_stage_hidden: int = 256  # second-stage VAE: MLP width ...
    two_stage_layers: int = 3  # ... and hidden layers
    two_stage_epochs: int = 30  # its epochs, batch size and Adam learning rate
    two_stage_batch: int = 128
    two_stage_lr: float = 1e-3
    # "cosine" decay, or "plateau": halve after 3 epochs without gain
    two_stage_schedule: str = "cosine"
    two_stage_sample_noise: bool = True  # samples add the decoder noise (False: the decoder mean)
    # evaluation: the protocol of Table 1
    # REC and Interp. images: "valid" (Appendix D: validation images against the test set) or
    # "test" (Table 1's caption shorthand: the reference images themselves, a paired comparison)
    eval_images: str = "valid"
    rec_sampled: bool = False  # VAE / CV-VAE reconstructions decode a sampled z, not the mean
    # the 2-stage VAE's reconstructions pass through its second stage
    rec_second_stage: bool = False

    def __post_init__(self):
        validate(self)

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        """(C, H, W) of an image dataset; None for sequence tasks."""
        if self.dataset == OWN_DATA:
            return (self.channels, self.resolution, self.resolution)
        return IMAGE_SHAPES.get(self.dataset)

    @property
    def paper_dataset(self) -> str:
        """The paper's dataset whose settings this run shares (itself, or for own images the one
        of the same channels and nearest size: MNIST, CIFAR-10 or CelebA)."""
        if self.dataset == OWN_DATA:
            return paper_dataset_for(self.channels, self.resolution)
        return self.dataset


_FIELD_TYPES = {f.name: f.type for f in fields(RunConfig)}
# section -> its first field; each section runs up to the next one's first field.
_SECTION_STARTS = {
    "data": "dataset",
    "model": "model",
    "training": "epochs",
    "density": "gmm_components",
    "evaluation": "eval_images",
}


def _sections() -> dict[str, tuple[str, ...]]:
    names = list(_FIELD_TYPES)
    starts = [names.index(first) for first in _SECTION_STARTS.values()]
    ends = [*starts[1:], len(names)]
    return {
        section: tuple(names[start:end])
        for section, start, end in zip(_SECTION_STARTS, starts, ends)
    }


# RunConfig's fields by section, in order.
SECTIONS: dict[str, tuple[str, ...]] = _sections()


def config_sections(config: RunConfig) -> dict[str, dict[str, Any]]:
    """A config's values by section: {"data": {"dataset": ..., ...}, "model": {...}, ...}."""
    return {
        section: {name: getattr(config, name) for name in names}
        for section, names in SECTIONS.items()
    }


# ---- validation: the declared type here, then the field's rule in raekit.config.rules.RULES,
# checked whenever a RunConfig is built (make_config, --set, a hand-edited config.yaml read back).
_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def validate(config: RunConfig) -> None:
    """Coerce every field to its declared type, then check it against RULES (RaekitError if not)."""
    for f in fields(config):
        object.__setattr__(config, f.name, check_value(f.name, getattr(config, f.name)))
    check_pair(config.dataset, config.model)
    own = config.dataset == OWN_DATA
    described = [k for k in ("data", "resolution", "channels", "data_sha256") if getattr(config, k)]
    if own and len(described) < 4:
        raise RaekitError(
            f"dataset {OWN_DATA!r} needs data, data_sha256, resolution and channels "
            f"(train with --data PATH)"
        )
    if not own and described:
        raise RaekitError(
            f"{', '.join(described)} describe your own images; they go with --data, not with "
            f"dataset {config.dataset!r}"
        )


def check_value(key: str, value: Any) -> Any:
    """`value` as field `key` declares it, checked against its rule (RaekitError if not)."""
    value = check_type(key, value)
    config_rules.check(key, value)
    return value


def check_type(key: str, value: Any) -> Any:
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


def check_pair(dataset: str, model: str) -> None:
    """Image models go with image datasets, sequence models with sequence tasks."""
    variant = get_variant(model)
    if (dataset in SEQUENCE_TASKS) != (variant.data != "image"):
        kind = "a sequence task" if dataset in SEQUENCE_TASKS else "an image dataset"
        raise RaekitError(
            f"model {model!r} does not apply to {kind} ({dataset!r}); sequence tasks take "
            f"cvae, gvae or grae, image datasets the image models"
        )
