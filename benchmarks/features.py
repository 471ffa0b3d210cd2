"""Images per second of raekit's feature extractors on this machine.

Inception: the TF-FID Inception-v3 on 32x32 grey images (resized to 299x299 inside), channels_last
fp32 as shipped, and the same weights in the default contiguous layout for comparison; needs
`raekit fetch inception`. Classifier: the 128-d penultimate layer of raekit's small CNN (the speed
does not depend on its training, so an untrained one is timed).
Usage: python benchmarks/features.py [--inception-images 200] [--classifier-images 5000] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from raekit.metrics.classifier import Classifier
from raekit.metrics.features import ClassifierExtractor, InceptionExtractor, TorchExtractor
from raekit.metrics.inception import FEATURE_DIM, preprocess
from raekit.metrics.inception_weights import load_inception


def images_per_second(extractor, images: np.ndarray) -> float:
    extractor(images[: min(len(images), 8)])  # warm-up: first-call allocations
    start = time.perf_counter()
    extractor(images)
    return len(images) / (time.perf_counter() - start)


def contiguous_inception(batch_size: int) -> TorchExtractor:
    net = load_inception()
    return TorchExtractor(lambda batch: net(preprocess(batch)), FEATURE_DIM, batch_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inception-images", type=int, default=200)
    parser.add_argument("--classifier-images", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, {args.threads} threads")

    images = rng.integers(0, 256, size=(args.classifier_images, 1, 32, 32), dtype=np.uint8)
    classifier = ClassifierExtractor(Classifier(1, 10))
    print(f"classifier (128-d)               {images_per_second(classifier, images):9.1f} images/s")

    images = images[: args.inception_images]
    for label, extractor in (
        ("channels_last", InceptionExtractor(batch_size=args.batch_size)),
        ("contiguous", contiguous_inception(args.batch_size)),
    ):
        rate = images_per_second(extractor, images)
        print(
            f"inception (2048-d, {label:13s}) {rate:9.1f} images/s   "
            f"(10k images: {10_000 / rate / 60:.1f} min)"
        )


if __name__ == "__main__":
    main()
