"""A small CNN trained on a dataset's labels; its penultimate layer is a fast FID feature space.

Cached under cache_dir()/classifiers/<dataset>-<hash>/ as model.safetensors + classifier.json, the
hash covering the training data and options, so a changed dataset or option trains a new one.
Training is deterministic on one machine and thread count, not across them: classifiers trained
from the same seed on two machines give FIDs that differ by up to ~10%. Scores that are to be
compared therefore name the classifier's weights (its `fingerprint`), and a folder of results
keeps the one it used (`pinned_classifier`).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from raekit.devices import compute_device
from raekit.errors import RaekitError, unknown
from raekit.io.atomic import atomic_path
from raekit.io.cache import cache_dir, read_cached
from raekit.io.jsonio import write_json
from raekit.io.progress import progress
from raekit.io.transfer import digest
from raekit.metrics.images import as_image_tensor, batches

CLASSIFIER_DIR = "classifier"  # where a folder of results pins its classifier (OUT/classifier/)


@dataclass(frozen=True)
class ClassifierConfig:
    widths: tuple[int, int, int] = (
        16,
        32,
        64,
    )  # conv channels; narrow keeps MNIST training near a minute
    feature_dim: int = 128  # penultimate width = feature dimension
    epochs: int | None = None  # None: enough epochs for ~300 steps, at least 2
    batch_size: int = 64
    lr: float = 3e-3  # Adam
    seed: int = 0


class Classifier(nn.Module):
    """conv-pool, conv-pool, conv, 4x4 average pool, FC (features), FC (logits)."""

    def __init__(
        self, in_channels: int, n_classes: int, config: ClassifierConfig = ClassifierConfig()
    ):
        super().__init__()
        w1, w2, w3 = config.widths
        self.conv1 = nn.Conv2d(in_channels, w1, 3, padding=1)
        self.conv2 = nn.Conv2d(w1, w2, 3, padding=1)
        self.conv3 = nn.Conv2d(w2, w3, 3, padding=1)
        self.fc = nn.Linear(w3 * 16, config.feature_dim)
        self.head = nn.Linear(config.feature_dim, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.adaptive_avg_pool2d(F.relu(self.conv3(x)), 4)  # any input size >= 4 gives 4x4
        return F.relu(self.fc(x.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def feature_dim(model: Classifier) -> int:
    return model.fc.out_features


def _labels(y, n: int, what: str) -> torch.Tensor:
    y = torch.as_tensor(np.asarray(y), dtype=torch.int64)
    if y.ndim != 1 or len(y) != n:
        raise RaekitError(
            f"{what} labels must be a 1-D array of {n} entries, got shape {tuple(y.shape)}"
        )
    if n and y.min() < 0:
        raise RaekitError(f"{what} labels must be non-negative class indices")
    return y


@torch.inference_mode()
def accuracy(model: Classifier, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512) -> float:
    model.eval()
    correct = sum(
        int((model(xb).argmax(1) == yb).sum())
        for xb, yb in zip(batches(x, batch_size), batches(y, batch_size))
    )
    return correct / len(y)


def train_classifier(
    train_x, train_y, valid_x, valid_y, config: ClassifierConfig = ClassifierConfig()
) -> Classifier:
    """Train with Adam, keep the best-validation weights; `.valid_accuracy` holds their accuracy."""
    tx, vx = as_image_tensor(train_x), as_image_tensor(valid_x)
    ty, vy = _labels(train_y, len(tx), "training"), _labels(valid_y, len(vx), "validation")
    if tx.shape[1:] != vx.shape[1:]:
        raise RaekitError(
            f"training and validation images differ in shape: {tuple(tx.shape[1:])} vs {tuple(vx.shape[1:])}"
        )
    if min(tx.shape[-2:]) < 4:
        raise RaekitError(
            f"images must be at least 4x4 for the classifier, got {tuple(tx.shape[-2:])}"
        )
    torch.manual_seed(config.seed)
    model = Classifier(tx.shape[1], int(max(ty.max(), vy.max())) + 1, config)
    device = compute_device()
    model, tx, ty, vx, vy = (t.to(device) for t in (model, tx, ty, vx, vy))
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    steps_per_epoch = math.ceil(len(tx) / config.batch_size)
    epochs = config.epochs or max(2, math.ceil(300 / steps_per_epoch))
    gen = torch.Generator().manual_seed(config.seed)
    best, best_state = -1.0, None
    for _ in progress(range(epochs), desc="training the feature classifier", unit="epoch"):
        model.train()
        order = torch.randperm(len(tx), generator=gen)
        for idx in batches(order, config.batch_size):
            loss = F.cross_entropy(model(tx[idx]), ty[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        acc = accuracy(model, vx, vy)
        if acc > best:
            best, best_state = acc, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    model.valid_accuracy = best
    return model.cpu().eval()  # saved from the CPU; extractors move it where they compute


def _digest(arrays, config: ClassifierConfig) -> str:
    h = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode())
    for arr in arrays:
        arr = np.ascontiguousarray(
            arr.numpy() if isinstance(arr, torch.Tensor) else np.asarray(arr)
        )
        h.update(f"{arr.dtype}{arr.shape}".encode())
        h.update(arr.tobytes())
    return h.hexdigest()[:16]


def save_classifier(model: Classifier, folder: Path, meta: dict) -> None:
    """Weights first, JSON last: the JSON marks a complete entry."""
    with atomic_path(folder / "model.safetensors") as tmp:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp)
    write_json(folder / "classifier.json", meta)


def load_classifier(folder: Path) -> Classifier:
    meta = json.loads((folder / "classifier.json").read_text())
    config = ClassifierConfig(**{**meta["config"], "widths": tuple(meta["config"]["widths"])})
    model = Classifier(meta["in_channels"], meta["n_classes"], config)
    model.load_state_dict(load_file(folder / "model.safetensors"))
    model.valid_accuracy, model.cache_key = meta["valid_accuracy"], meta.get("key", folder.name)
    model.weights_sha256 = digest(folder / "model.safetensors")
    return model.eval()


def _fingerprint(key: str, sha: str | None) -> str:
    return f"classifier-{key}-{sha[:12] if sha else 'unsaved'}"


def fingerprint(model: Classifier) -> str:
    """What names a classifier's feature space: its cache key and the SHA-256 of its weights."""
    return _fingerprint(
        getattr(model, "cache_key", "untracked"), getattr(model, "weights_sha256", None)
    )


def pinned_fingerprint(folder: Path) -> str | None:
    """The fingerprint of the classifier pinned in `folder`; None when none is."""
    folder = Path(folder)
    if not (folder / "classifier.json").is_file():
        return None
    meta = json.loads((folder / "classifier.json").read_text())
    return _fingerprint(meta.get("key", folder.name), digest(folder / "model.safetensors"))


def pinned_classifier(folder: Path, dataset: str, data, **options) -> Classifier:
    """The classifier kept in `folder` (a results folder's own copy), put there from the cache on
    first use (trained with `options` if the cache has none): every evaluation that uses `folder`
    shares one feature space, on any machine that has the folder."""
    folder = Path(folder)
    if not (folder / "classifier.json").is_file():
        model = classifier_for(dataset, data, **options)
        source = cache_dir() / "classifiers" / model.cache_key
        save_classifier(
            model,
            folder,
            {**json.loads((source / "classifier.json").read_text()), "key": model.cache_key},
        )
    meta = json.loads((folder / "classifier.json").read_text())
    if meta.get("dataset") != dataset:
        raise RaekitError(
            f"{folder} holds the classifier of {meta.get('dataset')!r}, not of {dataset!r}; "
            "move it away or use another folder"
        )
    return load_classifier(folder)


def classifier_for(dataset: str, data, **options) -> Classifier:
    """The cached classifier for `data` (an ImageSplits with labels), training it on first use."""
    if data.train_labels is None or data.valid_labels is None:
        raise RaekitError(
            f"dataset {dataset!r} has no labels, so no classifier can be trained; "
            "use --features inception"
        )
    for option in options:
        if option not in ClassifierConfig.__dataclass_fields__:
            raise unknown("classifier option", option, ClassifierConfig.__dataclass_fields__)
    config = ClassifierConfig(**options)
    key = f"{dataset}-{_digest([data.train, data.train_labels, data.valid, data.valid_labels], config)}"
    folder = cache_dir() / "classifiers" / key
    cached = read_cached(
        folder / "classifier.json",
        lambda _: load_classifier(folder),
        "the cached classifier",
        also=(folder / "model.safetensors",),
    )
    if cached is not None:
        return cached
    model = train_classifier(data.train, data.train_labels, data.valid, data.valid_labels, config)
    model.cache_key = key
    save_classifier(
        model,
        folder,
        {
            "dataset": dataset,
            "config": asdict(config),
            "in_channels": model.conv1.in_channels,
            "n_classes": model.head.out_features,
            "valid_accuracy": model.valid_accuracy,
        },
    )
    model.weights_sha256 = digest(folder / "model.safetensors")
    return model
