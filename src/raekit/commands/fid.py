"""raekit fid: the Fréchet Inception Distance (and PRD) of two image sets, as pytorch-fid computes
it, or one set's statistics saved for later."""

from __future__ import annotations

import argparse
from pathlib import Path

from raekit.commands.options import add_device_option
from raekit.errors import RaekitError

EPILOG = """examples:
  raekit fid real_pngs/ fake_pngs/
  raekit fid real.npy runs/celeba-rae --n 5000 --prd
  raekit fid real_pngs/ --save-stats real_stats.npz
  raekit fid real_stats.npz fake.npz"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fid",
        help="FID (and PRD) of two image sets: folders, arrays, runs or saved statistics",
        description="Fréchet Inception Distance between A and B. Each is a folder of images "
        "(recursive), a text file listing image paths, an .npy/.npz image array (N,H,W[,C] or "
        "N,C,H,W; uint8 or floats in [0,1]), a run directory (its density is sampled), or "
        "statistics saved by --save-stats or pytorch-fid (.npz with mu and sigma). Features are "
        "the TF-FID Inception-v3 pool_3 (run `raekit fetch inception` once).",
        epilog=EPILOG,
    )
    p.add_argument("a", metavar="A", help="first image set or statistics file")
    p.add_argument("b", metavar="B", nargs="?", help="second image set or statistics file")
    p.add_argument(
        "--save-stats",
        metavar="OUT.npz",
        help="save A's statistics (mu, sigma) to OUT.npz instead of comparing (B not given)",
    )
    p.add_argument("--prd", action="store_true", help="also print PRD's F_8 and F_1/8")
    p.add_argument(
        "--resolution",
        type=int,
        help="centre-crop and resize images to this square size first (needed when a folder's "
        "images differ in size; default: as they are)",
    )
    p.add_argument(
        "--n", type=int, default=10_000, help="samples drawn from a run directory (default 10000)"
    )
    p.add_argument(
        "--density", help="density sampled from a run directory (default: the model's N density)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of a run's samples and of PRD")
    p.add_argument("--weights", help="Inception weights file (default: the fetched one)")
    p.add_argument("--batch-size", type=int, default=50, help="images per Inception batch")
    p.add_argument(
        "--engine",
        choices=("fast", "eager"),
        default="fast",
        help="fast: compiled Inception on a CPU for 2000+ images (default); eager: plain PyTorch",
    )
    add_device_option(p)
    p.set_defaults(handler=run_fid)


def _check(args) -> None:
    if args.save_stats is None and args.b is None:
        raise RaekitError("give two image sets A B, or one with --save-stats OUT.npz")
    if args.save_stats is not None:
        out = Path(args.save_stats)
        if args.b is not None:
            raise RaekitError("--save-stats saves one image set's statistics; give A only")
        if out.suffix != ".npz":
            raise RaekitError(f"--save-stats must name an .npz file, got {args.save_stats!r}")
        if out.exists():
            raise RaekitError(f"{out} exists; choose another name or remove it first")
        if args.prd:
            raise RaekitError("--prd compares two image sets; it does not go with --save-stats")
    for name in ("n", "batch_size"):
        if getattr(args, name) < 1:
            raise RaekitError(f"--{name.replace('_', '-')} must be at least 1")
    # imported on use: `raekit --help` loads none of this
    from raekit.data.own import check_resolution

    check_resolution(args.resolution)


def run_fid(args) -> int:
    # imported on use: `raekit --help` loads none of this
    from raekit.paper.fid_inputs import SampleOptions, fid_side, save_statistics

    _check(args)
    extractor = _lazy_extractor(args.weights, args.batch_size, args.engine)
    sampling = SampleOptions(args.n, args.density, args.seed)
    a = fid_side(args.a, extractor, args.resolution, sampling, args.prd)
    if args.save_stats is not None:
        print(save_statistics(a, Path(args.save_stats)))
        return 0
    b = fid_side(args.b, extractor, args.resolution, sampling, args.prd)
    # imported on use: `raekit --help` loads none of this
    from raekit.metrics import frechet_distance_from_stats

    if a.mu.shape != b.mu.shape:
        raise RaekitError(
            f"{args.a} has {len(a.mu)}-d statistics but {args.b} {len(b.mu)}-d; both must be "
            f"Inception pool_3 (2048-d)"
        )
    print(f"FID: {frechet_distance_from_stats(a.mu, a.sigma, b.mu, b.sigma):.6f}")
    if args.prd:
        f8, f1_8 = _prd(a.features, b.features, args.seed)
        print(f"PRD F_8 (recall): {f8:.6f}\nPRD F_1/8 (precision): {f1_8:.6f}")
    return 0


def _lazy_extractor(weights: str | None, batch_size: int, engine: str = "fast"):
    """The Inception extractor, loaded on first use (statistics files need none)."""
    made = []

    def get():
        if not made:
            # imported on use: `raekit --help` loads none of this
            from raekit.metrics.features import InceptionExtractor

            made.append(InceptionExtractor(weights=weights, batch_size=batch_size, engine=engine))
        return made[0]

    return get


def _prd(first, second, seed: int) -> tuple[float, float]:
    """PRD of the second set against the first (the reference), on equal counts."""
    # imported on use: `raekit --help` loads none of this
    import numpy as np

    from raekit.metrics import prd, prd_f_beta

    n = min(len(first), len(second))
    rng = np.random.default_rng(seed)
    ref = first[np.sort(rng.choice(len(first), n, replace=False))]
    ev = second[np.sort(rng.choice(len(second), n, replace=False))]
    precision, recall = prd(ev, ref, num_clusters=min(20, n), seed=seed)
    return prd_f_beta(precision, recall, beta=8)
