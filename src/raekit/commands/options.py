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
