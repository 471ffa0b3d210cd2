"""raekit train."""

from __future__ import annotations

import argparse
from pathlib import Path

from raekit.commands import arguments
from raekit.commands.config_file import add_config_option, apply_to_train
from raekit.commands.options import add_device_option, add_set_option, add_track_option
from raekit.config import SEQUENCE_TASKS, make_config, parse_assignments, replace
from raekit.config.dataset_specs import IMAGE_DATASETS
from raekit.config.presets import PRESETS
from raekit.config.variants import VARIANTS, get_variant
from raekit.errors import RaekitError

# What names a run; with --resume these may only repeat the run's own values.
IDENTITY = {"dataset": "mnist", "model": "rae-l2", "preset": "cpu"}

EPILOG = """examples:
  raekit train --dataset mnist --model rae-l2 --out runs/mnist-rae
  raekit train --data my_pngs/ --set resolution=64 --out runs/mine
  raekit train --data images.npy --model vae --epochs 50 --out runs/mine-vae
  raekit train --config my.yaml --set beta=1e-3 --out runs/from-file
  raekit train --dataset digits --preset tiny --out runs/tb --track tensorboard,mlflow
  raekit train --out runs/mnist-rae --resume --epochs 200"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train one model into a run directory",
        description="Train a model. With --resume, continue the run in --out from its last "
        "checkpoint (its config.yaml is used; --epochs may extend it).",
        epilog=EPILOG,
    )
    p.add_argument(
        "--dataset", help=f"one of {', '.join(IMAGE_DATASETS + SEQUENCE_TASKS)} (default: mnist)"
    )
    p.add_argument(
        "--model",
        help=f"one of {', '.join(VARIANTS)} (default: rae-l2; "
        "cvae, gvae and grae are for expressions and molecules)",
    )
    p.add_argument("--out", required=True, help="run directory to create (or to resume)")
    add_config_option(p)
    p.add_argument("--preset", help=f"one of {', '.join(PRESETS)} (default: cpu)")
    p.add_argument("--epochs", type=int, help="maximum epochs (overrides the preset)")
    p.add_argument("--seed", type=arguments.seed, help="random seed (default 0)")
    p.add_argument("--data-root", help="folder holding the dataset's files")
    p.add_argument(
        "--data",
        metavar="PATH",
        help="train on your own images instead of --dataset: a folder (recursive), a text file "
        "listing image paths, or an .npy/.npz array (N,H,W[,C]; uint8 or floats in [0,1]); "
        "--set resolution=32|64|128 (default: the nearest to their size)",
    )
    add_device_option(p)
    add_set_option(p, "override any config value, e.g. --set beta=1e-2 lam=1e-4 width=0.25")
    p.add_argument(
        "--resume", action="store_true", help="continue from the last checkpoint in --out"
    )
    add_track_option(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # imported on use: `raekit --help` loads none of this
    from raekit import runs
    from raekit.training import train
    from raekit.training.utils import RESUMABLE

    file_values = apply_to_train(args)
    overrides = parse_assignments(args.set)
    options = (
        ("epochs", "epochs"),
        ("seed", "seed"),
        ("data_root", "data-root"),
        ("device", "device"),
    )
    for key, option in options:
        if getattr(args, key) is None:
            continue
        if key in overrides:  # one value only: neither may silently win
            raise RaekitError(f"--{option} and --set {key}=... both given; give one")
        overrides[key] = getattr(args, key)
    overrides = {**file_values, **overrides}
    if args.data and args.dataset:
        raise RaekitError(
            "--data trains on your own images and --dataset on one of raekit's; give one of them"
        )
    if args.data and args.resume:
        overrides["data"] = str(Path(args.data).expanduser().resolve())
    if args.resume:
        changed = sorted(set(overrides) - RESUMABLE)
        if changed:
            raise RaekitError(
                f"--resume keeps the run's config; {', '.join(changed)} cannot change "
                f"(allowed: {', '.join(sorted(RESUMABLE))})"
            )
        config = replace(runs.read_config(args.out), **overrides)
        _check_identity(args, config)
    elif args.data:
        return _train_own(args, overrides)
    else:
        given = {key: getattr(args, key) or default for key, default in IDENTITY.items()}
        config = make_config(**given, **overrides)
    run_dir = train(config, args.out, resume=args.resume, track=args.track)
    print(f"trained {config.model} on {config.dataset}: {run_dir}")
    return 0


def _train_own(args: argparse.Namespace, overrides: dict) -> int:
    """Read and check the images before anything is written, then train on them."""
    # imported on use: `raekit --help` loads none of this
    from raekit.data.own import OWN_DATASET, read_own_images
    from raekit.training import train

    for key in ("data", "data_sha256"):
        if key in overrides:
            raise RaekitError(f"--set {key}=... is not accepted: --data names the images")
    resolution, channels = overrides.pop("resolution", None), overrides.pop("channels", None)
    channels = None if channels is None else _int("channels", channels)
    if channels not in (None, 1, 3):
        raise RaekitError(f"config channels must be 1 or 3, got {channels}")
    own = read_own_images(
        args.data,
        None if resolution is None else _int("resolution", resolution),
        channels=channels,
    )
    config = make_config(
        OWN_DATASET,
        args.model or IDENTITY["model"],
        args.preset or IDENTITY["preset"],
        data=own.source,
        data_sha256=own.sha256,
        resolution=own.resolution,
        channels=own.channels,
        **overrides,
    )
    run_dir = train(config, args.out, data=own, track=args.track)
    print(
        f"trained {config.model} on {len(own.images)} images of {own.source} "
        f"({own.channels}x{own.resolution}x{own.resolution}): {run_dir}"
    )
    return 0


def _int(key: str, text) -> int:
    try:
        return int(text)
    except ValueError:
        raise RaekitError(f"config {key} expects int, got {text!r}") from None


def _check_identity(args: argparse.Namespace, config) -> None:
    """--dataset/--model/--preset given with --resume must name the run being resumed."""
    clashes = []
    for key in IDENTITY:
        given = getattr(args, key)
        if given is not None and (get_variant(given).name if key == "model" else given) != getattr(
            config, key
        ):
            clashes.append(f"--{key} {given} (the run has {getattr(config, key)})")
    if clashes:
        raise RaekitError(
            f"--resume continues {args.out} as it was started, but {', '.join(clashes)}; "
            f"drop them, or train a new run into a new --out"
        )
