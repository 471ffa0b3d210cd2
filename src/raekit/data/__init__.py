"""Image datasets with the paper's splits: uint8 (N, C, H, W) arrays, validation held out of training."""
from __future__ import annotations

from pathlib import Path

from raekit.cache import cache_dir
from raekit.data.splits import ImageSplits
from raekit.errors import RaekitError, unknown

DATASETS = ("mnist", "fashion-mnist", "cifar10", "celeba", "digits")
SYSTEM_PATHS = {"fashion-mnist": Path("/usr/share/datasets/fashion-mnist")}  # Debian dataset-fashion-mnist
HOW_TO_GET = {"mnist": "run `raekit fetch mnist`", "fashion-mnist": "run `raekit fetch fashion-mnist`",
              "cifar10": "run `raekit fetch cifar10` (online) or pass --from cifar-10-binary.tar.gz",
              "celeba": "see `raekit fetch celeba` for where to get it"}

__all__ = ["DATASETS", "ImageSplits", "dataset_dir", "load_images"]


def dataset_dir(name: str) -> Path:
    """Where `raekit fetch` puts a dataset's files."""
    return cache_dir() / "datasets" / name


def load_images(name: str, root: str | Path | None = None) -> ImageSplits:
    """A dataset's train / valid / test images from `root`, else the cache or system locations."""
    if name not in DATASETS:
        raise unknown("dataset", name, DATASETS)
    if name == "digits":
        from raekit.data.digits import read_digits
        return read_digits()
    candidates = [Path(root)] if root else [dataset_dir(name), *filter(None, [SYSTEM_PATHS.get(name)])]
    errors = []
    for folder in candidates:
        if not folder.is_dir():
            errors.append(f"{folder} does not exist")
            continue
        try:
            return _read(name, folder)
        except RaekitError as exc:
            if root or "missing" not in str(exc) and "expected" not in str(exc):
                raise  # a corrupt file is reported as is
            errors.append(str(exc))
    raise RaekitError(f"{name} not found ({'; '.join(errors)}); {HOW_TO_GET[name]}")


def _read(name: str, folder: Path) -> ImageSplits:
    if name in ("mnist", "fashion-mnist"):
        from raekit.data.mnist import read_mnist_like
        return read_mnist_like(name, folder)
    if name == "cifar10":
        from raekit.data.cifar import read_cifar10
        return read_cifar10(folder)
    from raekit.data.celeba import read_celeba
    return read_celeba(folder)
