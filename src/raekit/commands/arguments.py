"""Argument types shared by the subcommands: bad values fail in argparse, as one line, exit 2."""

from __future__ import annotations

import argparse


def seed(text: str) -> int:
    """A random seed: an integer in [0, 2^63) (numpy and torch refuse negative seeds)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2^63), got {value}")
    return value
