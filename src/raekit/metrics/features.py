"""Feature extractors: images (N, C, H, W) in [0, 1] (numpy or torch; uint8 means 0..255) ->
features (N, dim) float64, computed in batches under inference mode."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch

from raekit.data import load_images
from raekit.devices import compute_device
from raekit.errors import RaekitError, unknown
from raekit.io.progress import progress
from raekit.metrics.classifier import (
    classifier_for,
    feature_dim,
    fingerprint,
    pinned_classifier,
)
from raekit.metrics.images import as_image_tensor, batches
from raekit.metrics.inception import FEATURE_DIM, preprocess
from raekit.metrics.inception_fast import ENGINES, MIN_IMAGES, FrozenInception
from raekit.metrics.inception_weights import WEIGHTS_SHA256, load_inception


@runtime_checkable
class FeatureExtractor(Protocol):
    name: str
    dim: int
    fingerprint: str  # names the weights too, for cache keys

    def __call__(self, images) -> np.ndarray: ...


class TorchExtractor:
    """Runs `embed` (a torch function of a [0, 1] batch) over images in batches."""

    name = "torch"

    def __init__(
        self,
        embed,
        dim: int,
        batch_size: int = 50,
        fingerprint: str | None = None,
        device: torch.device | None = None,
    ):
        if batch_size < 1:
            raise RaekitError(f"batch_size must be at least 1, got {batch_size}")
        self.embed, self.dim, self.batch_size = embed, dim, batch_size
        self.fingerprint = fingerprint or self.name
        self.device = device or compute_device()  # where `embed` computes; batches go there

    def __call__(self, images) -> np.ndarray:
        x = as_image_tensor(images)
        out = []
        with torch.inference_mode():
            steps = progress(
                batches(x, self.batch_size),
                total=-(-len(x) // self.batch_size),
                unit="batch",
                desc=f"{self.name} features ({len(x)} images)",
            )
            for batch in steps:
                batch = batch.to(self.device, non_blocking=True)
                out.append(self.embed(batch).double().cpu().numpy())
        return np.concatenate(out)


class InceptionExtractor(TorchExtractor):
    """TF-FID Inception-v3 pool_3 features (2048-d), channels_last fp32. `engine="fast"` (the
    default) compiles the network for sets of `MIN_IMAGES` or more on a CPU
    (raekit.metrics.inception_fast); "eager" never does."""

    name = "inception"

    def __init__(
        self,
        weights=None,
        batch_size: int = 50,
        device: torch.device | None = None,
        engine: str = "fast",
    ):
        if engine not in ENGINES:
            raise unknown("engine", engine, ENGINES)
        device = device or compute_device()
        net = load_inception(weights).to(device, memory_format=torch.channels_last)

        def eager(batch):
            return net(preprocess(batch).contiguous(memory_format=torch.channels_last))

        super().__init__(eager, FEATURE_DIM, batch_size, f"inception-{WEIGHTS_SHA256[:12]}", device)
        self.eager = eager
        self.frozen = None
        if engine == "fast" and self.device.type == "cpu":
            self.frozen = FrozenInception(net, preprocess, batch_size)

    def __call__(self, images) -> np.ndarray:
        frozen = self.frozen if self.frozen is not None and len(images) >= MIN_IMAGES else None
        self.embed = self.eager if frozen is None else (lambda b: frozen(b, self.eager))
        return super().__call__(images)


class ClassifierExtractor(TorchExtractor):
    """Penultimate-layer features of a classifier trained by raekit on the dataset's labels."""

    name = "classifier"

    def __init__(self, classifier, batch_size: int = 256, device: torch.device | None = None):
        device = device or compute_device()
        classifier = classifier.eval().to(device)
        self.valid_accuracy = getattr(classifier, "valid_accuracy", None)
        super().__init__(
            classifier.features,
            feature_dim(classifier),
            batch_size,
            fingerprint(classifier),
            device,
        )


def _classifier_extractor(
    dataset: str | None, data=None, batch_size: int = 256, pinned=None, **train_kw
):
    if dataset is None and data is None:
        raise RaekitError(
            "the classifier extractor needs a dataset (its classifier is trained on its labels)"
        )
    if data is None:
        data = load_images(dataset)
    if data.train_labels is None:
        raise RaekitError(
            f"the classifier extractor needs labelled images and {dataset or data.name} has no "
            f"labels; use --features inception"
        )
    name = dataset or data.name
    if pinned is not None:
        return ClassifierExtractor(pinned_classifier(pinned, name, data, **train_kw), batch_size)
    return ClassifierExtractor(classifier_for(name, data, **train_kw), batch_size)


def _inception_extractor(
    dataset: str | None = None, data=None, weights=None, batch_size: int = 50, engine: str = "fast"
):
    return InceptionExtractor(weights=weights, batch_size=batch_size, engine=engine)


EXTRACTORS = {"inception": _inception_extractor, "classifier": _classifier_extractor}


def get_extractor(name: str, dataset: str | None = None, **kw) -> TorchExtractor:
    """An extractor by name: "inception" (kw: weights, batch_size) or "classifier" (kw: data,
    batch_size and train_classifier options; trained once per dataset and cached; `pinned`: a
    folder whose classifier is used, see raekit.metrics.classifier.pinned_classifier)."""
    if name not in EXTRACTORS:
        raise unknown("feature extractor", name, EXTRACTORS)
    return EXTRACTORS[name](dataset=dataset, **kw)
