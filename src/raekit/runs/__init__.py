"""A run directory: config.yaml, model.safetensors (+ .json), metrics.csv, status.json, checkpoints/."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import yaml
from torch import nn

from raekit import notices
from raekit.config import RunConfig, config_sections, replace
from raekit.data import config_images
from raekit.devices import compute_device
from raekit.errors import RaekitError
from raekit.io.atomic import atomic_write_text
from raekit.models.build import build_from_config
from raekit.runs.checkpoint import list_checkpoints
from raekit.runs.weights import load_weights

CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE, CHECKPOINTS = (
    "config.yaml",
    "model.safetensors",
    "metrics.csv",
    "checkpoints",
)
# {"finished": bool, "epochs": N[, "stopped_early": {"epoch", "rule"}]}: the completion marker
STATUS_FILE = "status.json"


def write_config(run_dir: Path, config: RunConfig) -> None:
    """config.yaml: flat keys (as `--set` names them), under one comment line per section."""
    text = "".join(
        f"# {section}\n" + yaml.safe_dump(values, sort_keys=False)
        for section, values in config_sections(config).items()
    )
    atomic_write_text(Path(run_dir) / CONFIG_FILE, text)


def read_config(run_dir: str | Path) -> RunConfig:
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise RaekitError(f"{run_dir} is not a raekit run (no {CONFIG_FILE})")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RaekitError(f"{path} is not valid YAML: {exc.__class__.__name__}") from None
    except UnicodeDecodeError:
        raise RaekitError(f"{path} is not UTF-8 text (damaged?)") from None
    if not isinstance(values, dict):
        raise RaekitError(f"{path} does not hold a mapping of config values")
    try:
        return replace(RunConfig(), **{str(k): v for k, v in values.items()})
    except RaekitError as exc:  # a hand-edited value: say which file holds it
        raise RaekitError(f"{path}: {exc}") from None


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
    try:
        with open(path, newline="") as handle:
            return [
                {k: float(v) for k, v in row.items() if v not in ("", None)}
                for row in csv.DictReader(handle)
            ]
    except (ValueError, TypeError, csv.Error, UnicodeDecodeError) as exc:
        raise RaekitError(
            f"{path} is damaged ({exc.__class__.__name__}: {str(exc)[:80]})"
        ) from None


def write_status(
    run_dir: Path, finished: bool, epochs: int, stopped: dict[str, Any] | None = None
) -> None:
    """Mark the run in progress (when training starts) or finished (after its last epoch, or
    when the early-stop rule ended it: `stopped` = {"epoch", "rule"})."""
    status: dict[str, Any] = {"finished": bool(finished), "epochs": int(epochs)}
    if stopped is not None:
        status["stopped_early"] = {"epoch": int(stopped["epoch"]), "rule": str(stopped["rule"])}
    text = json.dumps(status)
    atomic_write_text(Path(run_dir) / STATUS_FILE, text + "\n")


def stopped_early(run_dir: str | Path) -> dict[str, Any] | None:
    """{"epoch", "rule"} of a run the early-stop rule ended, else None."""
    try:
        status = json.loads((Path(run_dir) / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    stop = status.get("stopped_early") if isinstance(status, dict) else None
    return stop if isinstance(stop, dict) and isinstance(stop.get("epoch"), int) else None


def is_finished(run_dir: str | Path) -> bool:
    """Whether training of the run went through to its end, as its status.json records (a run
    without one never finished)."""
    run_dir = Path(run_dir)
    try:
        status = json.loads((run_dir / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        status = None
    return isinstance(status, dict) and status.get("finished") is True


def _epochs_done(run_dir: Path) -> int:
    try:
        rows = read_metrics(run_dir)
    except (OSError, ValueError, csv.Error):
        return 0
    return int(rows[-1].get("epoch", 0)) if rows else 0


def warn_if_unfinished(run_dir: str | Path) -> None:
    """One line on stderr (rank 0 only) when a run stopped before its end."""
    run_dir = Path(run_dir)
    if os.environ.get("RANK", "0") != "0" or is_finished(run_dir):
        return
    how = (
        f"finish it with `raekit train --out {run_dir} --resume`"
        if (run_dir / CHECKPOINTS).is_dir()
        else "its results may not match a finished run"
    )
    notices.warning(
        f"{run_dir} is unfinished ({_epochs_done(run_dir)} of {read_config(run_dir).epochs} "
        f"epochs trained); using its best weights so far; {how}"
    )


def load_run(
    run_dir: str | Path, encoder: nn.Module | None = None, decoder: nn.Module | None = None
) -> tuple[nn.Module, RunConfig]:
    """The trained model (best validation weights, eval mode, on the device `--device` or
    raekit.devices.use_device chose, else the best available) and its config."""
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    weights = run_dir / WEIGHTS_FILE
    if not weights.is_file():
        raise RaekitError(
            f"{run_dir} has no trained model ({WEIGHTS_FILE}); {_missing_weights_advice(run_dir, config)}"
        )
    model = build_from_config(config, encoder, decoder)
    load_weights(weights, model)
    warn_if_unfinished(run_dir)
    return model.to(compute_device()).eval(), config


def _missing_weights_advice(run_dir: Path, config: RunConfig) -> str:
    """Resuming helps only an unfinished run with a checkpoint; a finished run lost its weights."""
    history = read_metrics(run_dir)
    finished = bool(history) and history[-1].get("epoch", 0) >= config.epochs
    if list_checkpoints(run_dir / CHECKPOINTS) and not finished:
        return f"finish training with `raekit train --out {run_dir} --resume`"
    return "its weights were removed and cannot be rebuilt from what is left; train it again into a new --out"


def load_data(config: RunConfig):
    """The splits a config trains on: images, or a sequence task's encoded strings."""
    if config.image_shape is None:
        # why here: sequence data needs the `grammar` extra (nltk); image runs must not
        from raekit.grammar.task import load_sequences

        return load_sequences(config)
    return config_images(config)


class Run:
    """A run: its directory (where densities, codes and evaluations are kept), its config, and
    the model, data and densities it loads on first use and then keeps, so that one command
    loads each once. A Run of a model object has no directory (nothing is saved)."""

    def __init__(
        self,
        directory: str | Path | None = None,
        *,
        model: nn.Module | None = None,
        config: RunConfig | None = None,
        data=None,
    ):
        if directory is None and model is None:
            raise ValueError("a Run needs a run directory or a model")
        self.directory = None if directory is None else Path(directory)
        self._model, self._config, self._data = model, config, data
        self.densities: dict[tuple[str, int | None], Any] = {}  # (kind, components) -> density
        if self._config is None and self.directory is not None:
            self._config = read_config(self.directory)  # a folder that is no run fails here

    @classmethod
    def of(cls, model_or_run, data=None) -> Run:
        """The Run of a run directory (loaded lazily), of a model object, or the Run itself;
        `data`: the splits to use instead of the config's (e.g. tiny test data)."""
        run = model_or_run
        if isinstance(model_or_run, (str, Path)):
            run = cls(model_or_run)
        elif not isinstance(model_or_run, Run):
            run = cls(model=model_or_run.eval(), config=model_or_run.config)
        if data is not None:
            run._data = data
        return run

    @property
    def config(self) -> RunConfig | None:
        return self._config

    @property
    def model(self) -> nn.Module:
        """The trained model (best weights, eval mode), loaded on first use."""
        if self._model is None:
            self._model, self._config = load_run(self.directory)
        return self._model

    @property
    def data(self):
        """The run's train / valid / test splits, read on first use."""
        if self._data is None:
            self._data = load_data(self.config)
        return self._data

    def __repr__(self) -> str:
        return f"Run({self.directory or self._model.__class__.__name__})"
