"""The tracking backends behind `raekit.training.tracking.Tracker`: TensorBoard event files in
RUN/tb/NAME/ (a named run with its hyperparameters and config), and MLflow runs in MLflow's own
store that RUN/tracking.json remembers so resume and evaluate continue them. Weights & Biases is
in `tracking_wandb`."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from raekit.io.atomic import atomic_write_text

TB_DIR, STATE_FILE = "tb", "tracking.json"
DEFAULT_EXPERIMENT = "raekit"
# The metrics the HParams tab lists beside each run's hyperparameters.
HPARAM_METRICS = ("valid/loss", "valid/rec", "eval/fid_rec", "eval/fid_interp")


class TensorBoardBackend:
    name = "tensorboard"

    @staticmethod
    def prepare() -> None:
        import torch.utils.tensorboard  # noqa: F401

    def __init__(self, run_dir: Path, config, experiment):
        # the track extra (tensorboard)
        from torch.utils.tensorboard import SummaryWriter

        log_dir = Path(run_dir) / TB_DIR / run_name(run_dir)
        first = not any(log_dir.glob("events.out.tfevents.*"))
        self.writer = SummaryWriter(log_dir=str(log_dir))
        if first and config is not None:
            self._describe(config)

    def _describe(self, config) -> None:
        """The run's hyperparameters (HParams tab) and its config.yaml (Text tab), once."""
        # the track extra (tensorboard)
        import yaml
        from torch.utils.tensorboard.summary import hparams

        values = dataclasses.asdict(config)
        shown = {
            k: v if isinstance(v, (bool, int, float, str)) else str(v) for k, v in values.items()
        }
        for summary in hparams(shown, dict.fromkeys(HPARAM_METRICS, 0.0)):
            self.writer.file_writer.add_summary(summary)
        text = yaml.safe_dump(values, sort_keys=False)
        self.writer.add_text("config", "".join(f"    {line}\n" for line in text.splitlines()), 0)
        self.writer.flush()

    def log_epoch(self, epoch: int, metrics: dict[str, float], grid) -> None:
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, epoch)
        if grid is not None:
            self.writer.add_image(
                "images/input_recon_prior_gaussian", grid, epoch, dataformats="HWC"
            )
        self.writer.flush()

    def log_eval(self, step: int, metrics: dict[str, float], figures: list[Path]) -> None:
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, step)
        self.log_figures(step, figures)

    def log_figures(self, step: int, figures: list[Path]) -> None:
        # slow to import; only this path needs it
        from PIL import Image

        for path in figures:
            with Image.open(path) as image:
                self.writer.add_image(
                    f"figures/{Path(path).stem}",
                    np.asarray(image.convert("RGB")),
                    step,
                    dataformats="HWC",
                )
        self.writer.flush()

    def finish(self) -> None:
        self.writer.close()


class MLflowBackend:
    name = "mlflow"

    @staticmethod
    def prepare() -> None:
        """Import mlflow and, for a local store, create it now, outside the time limit that
        guards calls to a server (a new sqlite store takes seconds to set up its tables)."""
        # the track extra
        import mlflow

        uri = mlflow.get_tracking_uri()
        if uri.split(":", 1)[0] in ("sqlite", "file") or "://" not in uri:
            quiet = logging.getLogger("mlflow.store.db.utils")
            level = quiet.level
            quiet.setLevel(logging.WARNING)
            try:
                mlflow.MlflowClient(uri).search_experiments(max_results=1)
            finally:
                quiet.setLevel(level)

    def __init__(self, run_dir: Path, config, experiment):
        # the track extra
        import mlflow

        self.run_dir = run_dir
        # MLflow's own choice: MLFLOW_TRACKING_URI, else its default store in the working folder
        # (sqlite:///mlflow.db for MLflow 3), the one `mlflow ui` and `mlflow.search_runs()` open.
        uri = mlflow.get_tracking_uri()
        self.client = mlflow.MlflowClient(uri)
        state = read_state(run_dir)
        if state.get("mlflow_run_id") and state.get("mlflow_uri") == uri:
            self.run_id = state["mlflow_run_id"]
            self.client.get_run(self.run_id)  # fails early if the store lost it
        else:
            name = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
            found = self.client.get_experiment_by_name(name)
            experiment_id = found.experiment_id if found else self.client.create_experiment(name)
            run = self.client.create_run(
                experiment_id,
                run_name=run_name(run_dir),
                tags={"raekit.run_dir": str(run_dir.resolve())},
            )
            self.run_id = run.info.run_id
            if config is not None:
                params = {k: str(v) for k, v in dataclasses.asdict(config).items()}
                self.client.log_batch(
                    self.run_id, params=[mlflow.entities.Param(k, v) for k, v in params.items()]
                )
            write_state(run_dir, {"mlflow_run_id": self.run_id, "mlflow_uri": uri})
        self.client.update_run(self.run_id, status="RUNNING")

    def _metrics(self, step: int, metrics: dict[str, float]) -> None:
        # the track extra
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(
            self.run_id, metrics=[Metric(k, v, now, step) for k, v in metrics.items()]
        )

    def log_epoch(self, epoch: int, metrics: dict[str, float], grid) -> None:
        self._metrics(epoch, metrics)
        if grid is not None:
            # slow to import; only this path needs it
            from PIL import Image

            self.client.log_image(
                self.run_id, Image.fromarray(grid), f"epochs/epoch_{epoch:04d}.png"
            )

    def log_eval(self, step: int, metrics: dict[str, float], figures: list[Path]) -> None:
        self._metrics(step, metrics)
        if (self.run_dir / "eval.json").is_file():
            self.client.log_artifact(self.run_id, str(self.run_dir / "eval.json"))
        self.log_figures(step, figures)

    def log_figures(self, step: int, figures: list[Path]) -> None:
        for path in figures:
            self.client.log_artifact(self.run_id, str(path), "figures")

    def finish(self) -> None:
        for name in ("config.yaml", "metrics.csv"):
            if (self.run_dir / name).is_file():
                self.client.log_artifact(self.run_id, str(self.run_dir / name))
        self.client.set_terminated(self.run_id, "FINISHED")


def run_name(run_dir: Path) -> str:
    """The run's folder name; reproduce's MODEL/seedK folders keep the model in it."""
    run_dir = Path(run_dir).resolve()
    return (
        f"{run_dir.parent.name}/{run_dir.name}"
        if re.fullmatch(r"seed\d+", run_dir.name)
        else run_dir.name
    )


def read_state(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}


def write_state(run_dir: Path, values: dict[str, Any]) -> None:
    atomic_write_text(run_dir / STATE_FILE, json.dumps({**read_state(run_dir), **values}, indent=2))
