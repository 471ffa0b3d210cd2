"""raekit train."""
from __future__ import annotations

import argparse

from raekit import runs
from raekit.config import PRESETS, SEQUENCE_TASKS, make_config, parse_assignments, replace
from raekit.data import DATASETS
from raekit.errors import RaekitError
from raekit.models import VARIANTS

# Values a resumed run may change without invalidating its checkpoints.
RESUMABLE = {"epochs", "device", "skip_nonfinite", "keep_checkpoints", "data_root"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train one model into a run directory",
                       description="Train a model. With --resume, continue the run in --out from its last "
                                   "checkpoint (its config.yaml is used; --epochs may extend it).")
    p.add_argument("--dataset", default="mnist",
                   help=f"one of {', '.join(DATASETS + SEQUENCE_TASKS)} (default: mnist)")
    p.add_argument("--model", default="rae-l2", help=f"one of {', '.join(VARIANTS)} (default: rae-l2; "
                                                     "cvae, gvae and grae are for expressions and molecules)")
    p.add_argument("--out", required=True, help="run directory to create (or to resume)")
    p.add_argument("--preset", default="cpu", help=f"one of {', '.join(PRESETS)} (default: cpu)")
    p.add_argument("--epochs", type=int, help="maximum epochs (overrides the preset)")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--data-root", help="folder holding the dataset's files")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="override any config value, e.g. --set beta=1e-2 lam=1e-4 width=0.25")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from raekit.train import train

    overrides = parse_assignments(args.set)
    for key in ("epochs", "seed"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    if args.data_root:
        overrides["data_root"] = args.data_root
    if args.resume:
        changed = sorted(set(overrides) - RESUMABLE)
        if changed:
            raise RaekitError(f"--resume keeps the run's config; {', '.join(changed)} cannot change "
                              f"(allowed: {', '.join(sorted(RESUMABLE))})")
        config = replace(runs.read_config(args.out), **overrides)
    else:
        config = make_config(args.dataset, args.model, args.preset, **overrides)
    run_dir = train(config, args.out, resume=args.resume)
    print(f"trained {config.model} on {config.dataset}: {run_dir}")
    return 0
