"""Seconds per training step of every image model: `engine: fast` against plain eager fp32.

Both engines step the same network, batch and Adam optimiser the way raekit's trainer does (loss
terms read as floats, backward, step); their steps alternate (interleaved repeats) and the median
of each is compared, so load on the machine hits both alike. Compiling happens before the timing.
`--candidates MODEL` instead times each candidate change alone against eager on one model
(channels_last, bf16 autocast, fused / foreach Adam, torch.compile with and without static
shapes, one thread).
The last line is the summary `train speedup <min>x (width 1/16), <min>x (width 1/8)`, the minimum
over the models measured.
Usage: python benchmarks/train_step.py [--quick] [--models ...] [--widths 0.0625,0.125] [--steps 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from raekit.config import make_config
from raekit.models import IMAGE_MODELS
from raekit.models.build import build_from_config
from raekit.training.epochs import LossModule
from raekit.training.fast import FastLoss

QUICK_MODELS = "rae,rae-gp,vae"


def stepper(config, x: torch.Tensor, engine: str = "eager", **change) -> Callable[[], float]:
    """One timed training step of a fresh model (seed 0) under `engine` or one `change`."""
    torch.manual_seed(0)
    model = build_from_config(config)
    net = LossModule(model)
    if engine == "fast":
        net = FastLoss(net, model, len(x))
    elif change.get("compile"):
        net = torch.compile(net, dynamic=change.get("dynamic"), mode=change.get("mode"))
    if change.get("channels_last"):
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=1e-3, fused=change.get("fused"), foreach=change.get("foreach")
    )
    model.train()

    def one() -> float:
        torch.manual_seed(1)
        begin = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(change.get("bf16"))):
            terms = net(x)
        [float(value.detach()) for value in terms.values()]
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        optimizer.step()
        return time.perf_counter() - begin

    one(), one()  # warm-up: compiling, first-call allocations
    return one


def interleaved_medians(steppers: list, steps: int) -> list[float]:
    """Median step time of each stepper, measured alternately so machine noise hits all alike."""
    times: list[list[float]] = [[] for _ in steppers]
    for _ in range(steps):
        for i, one in enumerate(steppers):
            times[i].append(one())
    return [statistics.median(t) for t in times]


CANDIDATES = {
    "channels_last": {"channels_last": True},
    "bf16 autocast": {"bf16": True},
    "fused Adam": {"fused": True},
    "foreach Adam": {"foreach": True},
    "compile (static)": {"compile": True, "dynamic": False},
    "compile (default)": {"compile": True},
    "compile max-autotune": {
        "compile": True,
        "dynamic": False,
        "mode": "max-autotune-no-cudagraphs",
    },
}


def candidates(model: str, width: float, steps: int) -> None:
    """Each candidate change alone against eager fp32 (compiled ones on the whole loss)."""
    config = make_config("mnist", model, "cpu", width=width)
    x = torch.rand(config.batch_size, *config.image_shape)
    eager = stepper(config, x)
    for label, change in CANDIDATES.items():
        try:
            other = stepper(config, x, **change)
        except Exception as error:  # e.g. RAE-GP's double backward under torch.compile
            print(f"{model:7s} {label:22s} fails: {str(error).splitlines()[0][:90]}")
            continue
        base, new = interleaved_medians([eager, other], steps)
        print(
            f"{model:7s} {label:22s} {base:8.4f} s -> {new:8.4f} s  {base / new:5.2f}x", flush=True
        )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    one_thread = interleaved_medians([eager], steps)[0]
    torch.set_num_threads(threads)
    print(f"{model:7s} {'1 thread (eager)':22s} {one_thread:8.4f} s", flush=True)


def speedups(models: list[str], width: float, steps: int) -> dict[str, float]:
    """eager / fast median step time per model at one width."""
    ratios = {}
    for name in models:
        config = make_config("mnist", name, "cpu", width=width)
        x = torch.rand(config.batch_size, *config.image_shape)
        eager, fast = interleaved_medians(
            [stepper(config, x), stepper(config, x, engine="fast")], steps
        )
        ratios[name] = eager / fast
        print(
            f"width {width:<6g} {name:7s} eager {eager:7.4f} s  fast {fast:7.4f} s  "
            f"{ratios[name]:5.2f}x",
            flush=True,
        )
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", default=None, help=f"default: all ({QUICK_MODELS} with --quick)"
    )
    parser.add_argument("--widths", default="0.0625,0.125")
    parser.add_argument("--steps", type=int, default=None, help="interleaved repeats (7; 3 quick)")
    parser.add_argument("--quick", action="store_true", help="3 models, 3 repeats: a few minutes")
    parser.add_argument("--candidates", metavar="MODEL", help="time each candidate alone instead")
    args = parser.parse_args()
    steps = args.steps or (3 if args.quick else 7)
    models = (args.models or (QUICK_MODELS if args.quick else ",".join(IMAGE_MODELS))).split(",")
    widths = [float(w) for w in args.widths.split(",")]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch 100, MNIST 32x32")
    if args.candidates:
        for width in widths:
            candidates(args.candidates, width, steps)
        return
    summary = []
    for width in widths:
        ratios = speedups(models, width, steps)
        summary.append(f"{min(ratios.values()):.2f}x (width 1/{round(1 / width)})")
    print("train speedup " + ", ".join(summary))


if __name__ == "__main__":
    main()
