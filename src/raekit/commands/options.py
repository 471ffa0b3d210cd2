"""Options several subcommands share."""

from __future__ import annotations

import argparse


def add_device_option(p: argparse.ArgumentParser) -> None:
    """--device: where the command computes (model, features, densities trained with torch)."""
    p.add_argument(
        "--device",
        metavar="DEVICE",
        help="auto (CUDA, then MPS, else CPU), cpu, cuda, cuda:N or mps (default: auto)",
    )


def add_set_option(p: argparse.ArgumentParser, help: str) -> None:
    """--set KEY=VALUE ...; repeated options accumulate."""
    p.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE", help=help)


def add_track_option(p: argparse.ArgumentParser, what: str = "log") -> None:
    """--track, shared by every command that trains or evaluates."""
    p.add_argument(
        "--track",
        metavar="TOOLS",
        help=f"{what} to any of tensorboard (RUN/tb/), mlflow (MLflow's own store: "
        "$MLFLOW_TRACKING_URI, else its default in this folder) and wandb (offline into "
        "RUN/wandb/ unless WANDB_MODE=online), comma-separated, e.g. tensorboard,mlflow "
        "(default: none)",
    )
