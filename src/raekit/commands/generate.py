"""raekit fit-density / sample / reconstruct / interpolate / neighbours."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from raekit.commands import arguments
from raekit.commands.options import add_device_option
from raekit.config.generation import DENSITY_NAMES, INTERPOLATIONS
from raekit.errors import RaekitError
from raekit.io.jsonio import dumps

if TYPE_CHECKING:
    import numpy as np


def _run_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="a trained run directory")


def _density_args(p: argparse.ArgumentParser, default: str = "gmm") -> None:
    p.add_argument(
        "--density", default=default, help=f"{', '.join(DENSITY_NAMES)} (default: {default})"
    )
    p.add_argument("--components", type=int, help="GMM components (default 10)")


def _out_args(p: argparse.ArgumentParser, example: str) -> None:
    p.add_argument("--out", required=True, help=example)
    p.add_argument("--force", action="store_true", help="replace --out if it exists")


FIT_EPILOG = """examples:
  raekit fit-density runs/mnist-rae
  raekit fit-density runs/mnist-rae --density gmm --components 20
  raekit fit-density runs/mine --density two-stage --device cuda"""

SAMPLE_EPILOG = """examples:
  raekit sample runs/mnist-rae --out grid.png
  raekit sample runs/mnist-rae --density gmm --n 10000 --out samples.npz
  raekit sample runs/mine --density gaussian --seed 3 --out mine.png"""


def register(sub: argparse._SubParsersAction) -> None:
    _add_fit_density(sub)
    _add_sample(sub)
    _add_reconstruct(sub)
    _add_interpolate(sub)
    _add_neighbours(sub)


def _add_fit_density(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit-density",
        help="fit an ex-post density on a run's training codes",
        epilog=FIT_EPILOG,
    )
    _run_arg(p)
    _density_args(p)
    p.add_argument(
        "--stream",
        action="store_true",
        help="gmm only: write the codes to RUN/codes/*.npy and fit by EM over chunks of them; "
        "under torchrun every process encodes and fits its share",
    )
    p.add_argument(
        "--chunk", type=int, default=8192, help="codes per chunk with --stream (default 8192)"
    )
    add_device_option(p)
    p.set_defaults(handler=run_fit)


def _add_sample(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample",
        help="decode samples of a density into a grid (.png) or arrays (.npz)",
        epilog=SAMPLE_EPILOG,
    )
    _run_arg(p)
    _density_args(p)
    p.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("--seed", type=arguments.seed, default=0, help="random seed")
    _out_args(
        p,
        "grid.png or samples.npz; strings.txt or strings.json for expression and molecule runs",
    )
    p.add_argument(
        "--decode",
        default="greedy",
        choices=("greedy", "sample"),
        help="expression and molecule runs: greedy (argmax) or one sampled masked decoding",
    )
    add_device_option(p)
    p.set_defaults(handler=run_sample)


def _add_reconstruct(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reconstruct", help="validation images (top rows) and their reconstructions")
    _run_arg(p)
    p.add_argument("--n", type=int, default=16, help="images to reconstruct (default 16)")
    p.add_argument(
        "--split",
        default="valid",
        choices=("train", "valid", "test"),
        help="the split whose images are used",
    )
    _out_args(p, "recon.png or recon.npz")
    add_device_option(p)
    p.set_defaults(handler=run_reconstruct)


def _add_interpolate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("interpolate", help="interpolation strips between random validation pairs")
    _run_arg(p)
    p.add_argument("--pairs", type=int, default=6, help="pairs of images, one strip each")
    p.add_argument("--steps", type=int, default=8, help="decodings along each line")
    p.add_argument(
        "--method",
        default="slerp",
        choices=INTERPOLATIONS,
        help="spherical (slerp) or straight-line interpolation",
    )
    p.add_argument(
        "--origin",
        default="zero",
        choices=("zero", "mean"),
        help="centre of the interpolation: zero (raw codes, as the paper) or the mean of the "
        "validation codes (for models whose codes no prior centres)",
    )
    p.add_argument(
        "--split",
        default="valid",
        choices=("train", "valid", "test"),
        help="the split whose images are used",
    )
    p.add_argument("--seed", type=arguments.seed, default=0, help="random seed")
    _out_args(
        p,
        "strip.png or strip.npz; listing.txt or listing.json (the decodings along each "
        "line) for expression and molecule runs",
    )
    add_device_option(p)
    p.set_defaults(handler=run_interpolate)


def _add_neighbours(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "neighbours", help="samples next to their nearest training images (pixel space)"
    )
    _run_arg(p)
    _density_args(p)
    p.add_argument("--n", type=int, default=8, help="samples (default 8)")
    p.add_argument("--k", type=int, default=5, help="neighbours per sample (default 5)")
    p.add_argument("--seed", type=arguments.seed, default=0, help="random seed")
    _out_args(p, "nn.png")
    add_device_option(p)
    p.set_defaults(handler=run_neighbours)


def _positive(name: str, value: int) -> int:
    if value < 1:
        raise RaekitError(f"--{name} must be at least 1, got {value}")
    return value


def _components(args) -> int | None:
    # imported on use: `raekit --help` loads none of this
    from raekit.paper.run_scores import check_density_names

    check_density_names([args.density])
    return None if args.components is None else _positive("components", args.components)


def run_fit(args) -> int:
    # imported on use: `raekit --help` loads none of this
    from raekit.generation import fit_run_density, fit_run_density_streaming
    from raekit.runs import Run

    components = _components(args)
    options = {} if components is None else {"components": components}
    if args.stream:
        if args.density != "gmm":
            raise RaekitError(f"--stream fits the gmm density only, not {args.density!r}")
        _, report = fit_run_density_streaming(
            Run.of(args.run), chunk=_positive("chunk", args.chunk), **options
        )
    else:
        _, report = fit_run_density(Run.of(args.run), kind=args.density, **options)
    if report.get("path"):  # rank 0 (the only process that saves) reports
        print(dumps(report, default=str))
    return 0


def _check_request(args, *counts: str) -> None:
    """Check the arguments before any work: counts of at least 1 and an --out raekit can write."""
    for name in counts:
        _positive(name, getattr(args, name))
    out = Path(args.out)
    if out.suffix not in (".png", ".npz"):
        raise RaekitError(f"--out must end in .png or .npz, got {args.out!r}")
    if out.is_dir():
        raise RaekitError(f"--out {args.out} is a folder; name a .png or .npz file")
    if (out.exists() or out.is_symlink()) and not args.force:
        raise RaekitError(f"--out {args.out} exists; add --force to replace it")


def _write_images(images: np.ndarray, out: str, figure) -> None:
    path = Path(out)
    if path.suffix == ".npz":
        # imported on use: `raekit --help` loads none of this
        import numpy as np

        from raekit.io.atomic import atomic_path

        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez_compressed(handle, images=images)
    elif path.suffix == ".png":
        figure(path)
    else:
        raise RaekitError(f"--out must end in .png or .npz, got {out!r}")
    print(path)


def run_sample(args) -> int:
    # imported on use: `raekit --help` loads none of this
    from raekit.generation import load_run_density, sample_images
    from raekit.plots import samples_figure
    from raekit.runs import Run

    _positive("n", args.n)
    run = Run.of(args.run)
    if run.config.image_shape is None:
        # imported on use: `raekit --help` loads none of this
        from raekit.commands.sequence_generate import sample_strings

        _components(args)
        return sample_strings(args, run)
    _check_request(args, "n")
    density = load_run_density(run, args.density, _components(args))
    images = sample_images(run.model, density, args.n, args.seed)
    _write_images(images, args.out, lambda path: samples_figure(images, path))
    return 0


def run_reconstruct(args) -> int:
    # imported on use: `raekit --help` loads none of this
    from raekit.generation import reconstruct
    from raekit.plots import reconstruction_figure
    from raekit.runs import Run

    _check_request(args, "n")
    run = Run.of(args.run)
    originals = getattr(run.data, args.split)[: args.n]
    recons = reconstruct(run.model, originals)
    _write_images(
        recons, args.out, lambda path: reconstruction_figure(originals / 255.0, recons, path)
    )
    return 0


def run_interpolate(args) -> int:
    # imported on use: `raekit --help` loads none of this
    import numpy as np

    from raekit.generation import encode_images, interpolate_images
    from raekit.plots import interpolation_figure
    from raekit.runs import Run

    run = Run.of(args.run)
    if run.config.image_shape is None:
        # imported on use: `raekit --help` loads none of this
        from raekit.commands.sequence_generate import interpolate_strings

        _positive("pairs", args.pairs)
        _positive("steps", args.steps)
        return interpolate_strings(args, run)
    _check_request(args, "pairs", "steps")
    images = getattr(run.data, args.split)
    origin = None
    if args.origin == "mean":
        origin = encode_images(run.model, run.data.valid[: run.config.valid_limit]).mean(0)
    pick = np.random.default_rng(args.seed).choice(len(images), size=(args.pairs, 2))
    strips = interpolate_images(
        run.model, images[pick[:, 0]], images[pick[:, 1]], args.steps, args.method, origin
    )
    _write_images(strips, args.out, lambda path: interpolation_figure(strips, path))
    return 0


def run_neighbours(args) -> int:
    # imported on use: `raekit --help` loads none of this
    import numpy as np

    from raekit.generation import load_run_density, sample_images
    from raekit.generation.neighbours import nearest_neighbours
    from raekit.plots import neighbours_figure
    from raekit.runs import Run

    _check_request(args, "n", "k")
    run = Run.of(args.run)
    density = load_run_density(run, args.density, _components(args))
    samples = sample_images(run.model, density, args.n, args.seed)
    reference = run.data.train[: run.config.train_limit].astype(np.float32) / 255.0
    index, _ = nearest_neighbours(samples, reference, k=args.k)
    neighbours = reference[index]
    _write_images(neighbours, args.out, lambda path: neighbours_figure(samples, neighbours, path))
    return 0
