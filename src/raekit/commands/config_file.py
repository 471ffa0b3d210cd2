"""`--config FILE.yaml` of train and reproduce: a YAML mapping of config values (a run's own
config.yaml works), applied before --set and the other options, which win over the file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from raekit.config import OWN_DATA
from raekit.errors import RaekitError

# Describe a run's own images; --data reads them afresh (and hashes them again).
_OWN_KEYS = ("data", "data_sha256", "resolution", "channels")


def add_config_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="FILE.yaml",
        help="config values from a YAML file (a run's config.yaml works); --set and the other "
        "options override them (default: none)",
    )


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The file's mapping, or one line naming what is wrong with it."""
    # imported on use: `raekit --help` loads none of this
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RaekitError(f"--config {path}: no such file") from None
    except IsADirectoryError:
        raise RaekitError(f"--config {path}: a folder, not a YAML file") from None
    except UnicodeDecodeError:
        raise RaekitError(f"--config {path}: not a text file") from None
    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc.__class__.__name__
        raise RaekitError(f"--config {path}: {where}not valid YAML ({problem})") from None
    if values is None:
        return {}
    if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
        raise RaekitError(f"--config {path}: expected a mapping of config keys to values")
    return {{"lambda": "lam"}.get(k, k): v for k, v in values.items()}


def apply_to_train(args: argparse.Namespace) -> dict[str, Any]:
    """Fill --dataset/--model/--preset/--data the command line left out from the file; return
    the file's other values (overrides that --set and --epochs etc. replace)."""
    if not getattr(args, "config", None):  # grammar-train shares train's handler, without --config
        return {}
    if args.resume:
        raise RaekitError("--resume continues the run with its own config.yaml; drop --config")
    values = read_config_file(args.config)
    if values.get("dataset") == OWN_DATA:  # a run on own images: read them again from `data`
        values.pop("dataset")
        source = values.pop("data", None)
        values.pop("data_sha256", None)
        if args.data is None and args.dataset is None:
            if not source:
                raise RaekitError(f"--config {args.config}: dataset {OWN_DATA!r} without data")
            args.data = str(source)
    if args.dataset is not None:
        for key in _OWN_KEYS:
            values.pop(key, None)
    for key in ("dataset", "model", "preset"):
        file_value = values.pop(key, None)
        taken = getattr(args, key) is not None or (key == "dataset" and args.data)
        if file_value is not None and not taken:
            setattr(args, key, str(file_value))
    return values


def apply_to_reproduce(args: argparse.Namespace) -> dict[str, Any]:
    """The file's values for every run of a reproduction; its dataset and preset fill those
    options when they are not given."""
    if not getattr(args, "config", None):  # grammar-train shares train's handler, without --config
        return {}
    values = read_config_file(args.config)
    if "model" in values:
        raise RaekitError(
            f"--config {args.config}: 'model' has no place in a reproduction (it trains every "
            f"model of --models); remove it"
        )
    for key in ("dataset", "preset"):
        if key in values:
            file_value = values.pop(key)
            if getattr(args, key) is None:
                setattr(args, key, str(file_value))
    for key in _OWN_KEYS:
        if key in values:
            raise RaekitError(f"--config {args.config}: {key!r} is for train --data, not reproduce")
    return values
