"""Every dataset raekit knows, as one table of facts: image shape, latent size (Appendix C), the
official code's dataset whose settings it shares, and the second-stage VAE's KL weight."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    latent_dim: int
    # (C, H, W) of an image dataset; None: a sequence task
    shape: tuple[int, int, int] | None = None
    family: str | None = None  # official code's dataset for weights and presets (MNIST-like: mnist)
    two_stage_kl_weight: float | None = None  # official code's second-stage KL weight
    system_path: Path | None = None  # where a system package installs the files

    @property
    def is_image(self) -> bool:
        return self.shape is not None


_MNIST_LIKE = {
    "shape": (1, 32, 32),
    "family": "mnist",
    "two_stage_kl_weight": 1.5e-3,
}  # padded to 32
DATASET_SPECS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec("mnist", 16, **_MNIST_LIKE),
        DatasetSpec(
            "fashion-mnist",
            16,
            **_MNIST_LIKE,
            system_path=Path("/usr/share/datasets/fashion-mnist"),  # Debian dataset-fashion-mnist
        ),
        DatasetSpec("cifar10", 128, (3, 32, 32), "cifar10", 1e-3),
        DatasetSpec("celeba", 64, (3, 64, 64), "celeba", 2e-3),
        DatasetSpec("digits", 16, **_MNIST_LIKE),  # scikit-learn's 8x8 digits, upscaled
        DatasetSpec("expressions", 25),  # GrammarVAE's arithmetic expressions
        DatasetSpec("molecules", 56),  # SMILES strings
    )
}
IMAGE_DATASETS = tuple(name for name, spec in DATASET_SPECS.items() if spec.is_image)
SEQUENCE_TASKS = tuple(name for name, spec in DATASET_SPECS.items() if not spec.is_image)

# Your own images (`raekit train --data PATH`): their shape is a run's setting, not a fact here.
OWN_DATA = "custom"


def paper_dataset_for(channels: int, resolution: int) -> str:
    """The paper's dataset whose latent size, loss weights and second-stage KL weight own images
    of this shape take: greyscale -> MNIST, 32x32 colour -> CIFAR-10, larger colour -> CelebA."""
    if channels == 1:
        return "mnist"
    return "cifar10" if resolution <= 32 else "celeba"
