"""The tracking backends behind `raekit.training.tracking.Tracker`: TensorBoard event files in
RUN/tb/, and MLflow runs that RUN/tracking.json remembers so resume and evaluate continue them."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from raekit.io.atomic import atomic_write_text

TB_DIR, STATE_FILE = "tb", "tracking.json"
DEFAULT_EXPERIMENT = "raekit"


class TensorBoardBackend:
    name = "tensorboard"

    @staticmethod
    def prepare() -> None:
        import torch.utils.tensorboard  # noqa: F401

    def __init__(self, run_dir: Path, config, experiment):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir / TB_DIR))

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
        import mlflow  # noqa: F401

    def __init__(self, run_dir: Path, config, experiment):
        import mlflow

        self.run_dir = run_dir
        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:  # the default local store; MLflow 3 asks for an opt-in to file stores
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
            uri = (Path.cwd() / "mlruns").as_uri()
        self.client = mlflow.MlflowClient(uri)
        state = _read_state(run_dir)
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
            _write_state(run_dir, {"mlflow_run_id": self.run_id, "mlflow_uri": uri})
        self.client.update_run(self.run_id, status="RUNNING")

    def _metrics(self, step: int, metrics: dict[str, float]) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(
            self.run_id, metrics=[Metric(k, v, now, step) for k, v in metrics.items()]
        )

    def log_epoch(self, epoch: int, metrics: dict[str, float], grid) -> None:
        self._metrics(epoch, metrics)
        if grid is not None:
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


def _read_state(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _write_state(run_dir: Path, values: dict[str, Any]) -> None:
    atomic_write_text(
        run_dir / STATE_FILE, json.dumps({**_read_state(run_dir), **values}, indent=2)
    )
