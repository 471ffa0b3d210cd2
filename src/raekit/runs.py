"""A run directory: config.yaml, model.safetensors (+ .json), metrics.csv, checkpoints/."""
from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path
from typing import Any

import yaml
from torch import nn

from raekit.atomic import atomic_write_text
from raekit.config import RunConfig, replace
from raekit.errors import RaekitError

CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE, CHECKPOINTS = ("config.yaml", "model.safetensors",
                                                       "metrics.csv", "checkpoints")


def write_config(run_dir: Path, config: RunConfig) -> None:
    text = yaml.safe_dump(dataclasses.asdict(config), sort_keys=False)
    atomic_write_text(Path(run_dir) / CONFIG_FILE, text)


def read_config(run_dir: str | Path) -> RunConfig:
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise RaekitError(f"{run_dir} is not a raekit run (no {CONFIG_FILE})")
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise RaekitError(f"{path} is not valid YAML: {exc.__class__.__name__}") from None
    if not isinstance(values, dict):
        raise RaekitError(f"{path} does not hold a mapping of config values")
    return replace(RunConfig(), **values)


def write_metrics(run_dir: Path, rows: list[dict[str, Any]]) -> None:
    """Rewrite metrics.csv from the full history (kept in checkpoints, so resume stays consistent)."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(Path(run_dir) / METRICS_FILE, buffer.getvalue())


def read_metrics(run_dir: str | Path) -> list[dict[str, float]]:
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(handle)]


def load_run(run_dir: str | Path, encoder: nn.Module | None = None,
             decoder: nn.Module | None = None) -> tuple[nn.Module, RunConfig]:
    """The trained model (best validation weights, eval mode) and its config."""
    from raekit.checkpoint import load_weights
    from raekit.models.build import build_from_config

    run_dir = Path(run_dir)
    config = read_config(run_dir)
    weights = run_dir / WEIGHTS_FILE
    if not weights.is_file():
        raise RaekitError(f"{run_dir} has no trained model ({WEIGHTS_FILE}); finish training with "
                          f"`raekit train --out {run_dir} --resume`")
    model = build_from_config(config, encoder, decoder)
    load_weights(weights, model)
    model.config = config
    return model.eval(), config
