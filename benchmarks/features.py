"""Images per second of raekit's feature extractors; Inception's fast engine against eager fp32.

Inception: the TF-FID Inception-v3 on MNIST test and training images (32x32 grey, resized to
299x299), `engine="eager"` (channels_last fp32) against `engine="fast"` (the frozen compiled graph,
raekit.metrics.inception_fast), batch by batch in alternation (interleaved repeats, median per
batch), compiled before the timing; then the FID of the test images against the training images
from each engine's features and their relative difference. Needs `raekit fetch inception` and
MNIST. Classifier: the 128-d penultimate layer of raekit's small CNN (untrained: the speed does
not depend on its training), and PRD's time on those features.
The last line is the summary `inception speedup <x>x, fid rel diff <d>`.
Usage: python benchmarks/features.py [--quick] [--images 10000] [--batch-size 50] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from raekit.data import load_images
from raekit.metrics import inception_fast
from raekit.metrics.classifier import Classifier
from raekit.metrics.features import ClassifierExtractor, InceptionExtractor
from raekit.metrics.fid import frechet_distance
from raekit.metrics.images import as_image_tensor, batches
from raekit.metrics.prd import prd


def images_per_second(extractor, images: np.ndarray) -> float:
    extractor(images[: min(len(images), 8)])  # warm-up: first-call allocations
    start = time.perf_counter()
    extractor(images)
    return len(images) / (time.perf_counter() - start)


def interleaved_features(images: np.ndarray, batch_size: int) -> tuple[dict, dict]:
    """Features of `images` from both engines, batch by batch in turn, and the seconds per batch."""
    inception_fast.MIN_IMAGES = 0  # compile whatever the number of images
    engines = {e: InceptionExtractor(batch_size=batch_size, engine=e) for e in ("eager", "fast")}
    embed = {
        "eager": engines["eager"].eager,
        "fast": lambda b: engines["fast"].frozen(b, engines["fast"].eager),
    }
    x = as_image_tensor(images)
    out: dict[str, list] = {e: [] for e in embed}
    seconds: dict[str, list] = {e: [] for e in embed}
    with torch.inference_mode():
        for name, fn in embed.items():
            begin = time.perf_counter()
            fn(x[:batch_size])  # warm-up; compiles the fast engine
            print(
                f"{name:5s} first batch (compile) {time.perf_counter() - begin:6.1f} s", flush=True
            )
        for batch in batches(x, batch_size):
            for name, fn in embed.items():
                begin = time.perf_counter()
                out[name].append(fn(batch).double().numpy())
                seconds[name].append(time.perf_counter() - begin)
    if engines["fast"].frozen.failed:
        raise SystemExit("the fast engine fell back to eager: nothing to compare")
    return {e: np.concatenate(f) for e, f in out.items()}, seconds


def classifier_rates(n: int) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 1, 32, 32), dtype=np.uint8)
    extractor = ClassifierExtractor(Classifier(1, 10))
    print(f"classifier (128-d)        {images_per_second(extractor, images):9.1f} images/s")
    features = extractor(images)
    begin = time.perf_counter()
    prd(features[n // 2 :], features[: n // 2])
    print(f"PRD on {n // 2} + {n // 2} features: {time.perf_counter() - begin:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=None, help="per set (10000; 100 quick)")
    parser.add_argument("--classifier-images", type=int, default=None, help="5000; 1000 quick")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="100 images per set: a few minutes")
    args = parser.parse_args()
    n = args.images or (100 if args.quick else 10_000)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, Inception batch {args.batch_size}")
    classifier_rates(args.classifier_images or (1000 if args.quick else 5000))
    mnist = load_images("mnist")
    images = np.concatenate([mnist.test[:n], mnist.train[:n]])
    features, seconds = interleaved_features(images, args.batch_size)
    rate = {e: args.batch_size / statistics.median(s) for e, s in seconds.items()}
    fid = {e: frechet_distance(f[:n], f[n:]) for e, f in features.items()}
    diff = float(np.abs(features["fast"] - features["eager"]).max())
    for engine in ("eager", "fast"):
        print(
            f"inception {engine:5s} {rate[engine]:7.2f} images/s  (10k images: "
            f"{10_000 / rate[engine] / 60:5.1f} min)  FID test vs train ({n} each) {fid[engine]:.4f}"
        )
    print(f"largest feature difference fast - eager: {diff:.2e}")
    rel = abs(fid["fast"] - fid["eager"]) / abs(fid["eager"])
    print(f"inception speedup {rate['fast'] / rate['eager']:.2f}x, fid rel diff {rel:.1e}")


if __name__ == "__main__":
    main()
