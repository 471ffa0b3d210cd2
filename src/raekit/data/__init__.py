"""Image datasets with the paper's splits: uint8 (N, C, H, W) arrays, validation held out of training."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from raekit.config.dataset_specs import DATASET_SPECS, IMAGE_DATASETS, OWN_DATA
from raekit.data.celeba import read_celeba
from raekit.data.checksums import CELEBA_HOME, CIFAR_URL
from raekit.data.cifar import read_cifar10
from raekit.data.digits import read_digits
from raekit.data.files import MissingFiles
from raekit.data.mnist import read_mnist_like
from raekit.data.own import own_splits
from raekit.data.splits import ImageSplits
from raekit.errors import unknown
from raekit.io.cache import cache_dir

DATASETS = IMAGE_DATASETS

__all__ = [
    "DATASETS",
    "ImageSplits",
    "MissingFiles",
    "config_images",
    "dataset_dir",
    "how_to_get",
    "load_images",
]


def dataset_dir(name: str) -> Path:
    """Where `raekit fetch` puts a dataset's files."""
    return cache_dir() / "datasets" / name


@dataclass(frozen=True)
class ImageSource:
    """How an image dataset is read from a folder of its files, and how to get those files."""

    read: Callable[[Path], ImageSplits]
    how_to_get: Callable[[Path], str]  # folder -> the command or download that fills it
    bundled: bool = False  # shipped with a dependency: no folder to look in


def _fetch_command(name: str) -> Callable[[Path], str]:
    return lambda folder: f"run `raekit fetch {name}`"


def _get_cifar10(folder: Path) -> str:
    return (
        f"run `raekit fetch cifar10` (online), or download {CIFAR_URL} and run "
        f"`raekit fetch cifar10 --from cifar-10-binary.tar.gz`, or unpack it into {folder}"
    )


def _get_celeba(folder: Path) -> str:
    return (
        f"download img_align_celeba.zip and list_eval_partition.txt from {CELEBA_HOME} and run "
        f"`raekit fetch celeba --from` on each, or unzip them into {folder} so that "
        f"{folder}/img_align_celeba/000001.jpg and {folder}/list_eval_partition.txt exist"
    )


# One row per dataset of DATASET_SPECS with images.
IMAGE_SOURCES: dict[str, ImageSource] = {
    "mnist": ImageSource(partial(read_mnist_like, "mnist"), _fetch_command("mnist")),
    "fashion-mnist": ImageSource(
        partial(read_mnist_like, "fashion-mnist"), _fetch_command("fashion-mnist")
    ),
    "cifar10": ImageSource(read_cifar10, _get_cifar10),
    "celeba": ImageSource(read_celeba, _get_celeba),
    "digits": ImageSource(
        lambda folder: read_digits(), lambda folder: "install scikit-learn", bundled=True
    ),
}


def how_to_get(name: str, folder: Path) -> str:
    """The command or download that puts dataset `name` into `folder`."""
    return IMAGE_SOURCES[name].how_to_get(folder)


def load_images(name: str, root: str | Path | None = None) -> ImageSplits:
    """Dataset `name`'s train / valid / test images from `root`, else from the cache or system folders."""
    if name not in DATASETS:
        raise unknown("dataset", name, DATASETS)
    source = IMAGE_SOURCES[name]
    if source.bundled:
        return source.read(None)
    folders = (
        [Path(root)]
        if root is not None
        else [dataset_dir(name), *filter(None, [DATASET_SPECS[name].system_path])]
    )
    misses = []
    for folder in folders:
        try:
            return source.read(folder)
        except MissingFiles as exc:  # look further; a corrupt file is reported as it is
            misses.append(exc.where)
    raise MissingFiles(name, f"not found: {'; '.join(misses)}; {how_to_get(name, folders[0])}")


def config_images(config) -> ImageSplits:
    """The train / valid / test images a run config names: a dataset, or own images (checked to be
    the ones the run was trained on)."""
    if config.dataset == OWN_DATA:
        return own_splits(config)
    return load_images(config.dataset, config.data_root)
