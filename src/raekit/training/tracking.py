"""Experiment tracking with TensorBoard and MLflow (the optional `track` extra).

`open_tracker(["tensorboard", "mlflow"], run_dir, config)` returns one object whose `log_epoch`
(every metrics.csv column and an image grid), `log_eval` (FIDs, PRD) and `finish` (artifacts) the
training loop and `evaluate` call. Tracking never stops the work it watches: the first error of a
backend is one warning on stderr, and that backend is then switched off. Under torchrun only rank 0
tracks. TensorBoard writes RUN/tb/; MLflow uses MLFLOW_TRACKING_URI or a ./mlruns file store,
and RUN/tracking.json remembers the MLflow run so that resume and evaluate continue it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from raekit import runs
from raekit.atomic import atomic_write_text
from raekit.errors import RaekitError
from raekit.plots import image_grid

BACKENDS = ("tensorboard", "mlflow")
TB_DIR, STATE_FILE = "tb", "tracking.json"
DEFAULT_EXPERIMENT = "raekit"


def parse_backends(track: str | Iterable[str] | None) -> list[str]:
    """'tensorboard,mlflow' (or a list) -> checked backend names; each one's package must import."""
    names = [
        t.strip()
        for t in (track.split(",") if isinstance(track, str) else track or ())
        if t.strip()
    ]
    for name in names:
        if name not in BACKENDS:
            raise RaekitError(f"unknown tracker {name!r}; choose from {', '.join(BACKENDS)}")
        module = {"tensorboard": "tensorboard", "mlflow": "mlflow"}[name]
        try:
            __import__(module)
        except ImportError:
            raise RaekitError(
                f'--track {name} needs the {module} package: pip install "raekit[track]"'
            ) from None
    return list(dict.fromkeys(names))


def metric_name(column: str) -> str:
    """metrics.csv column -> tracked name: train_rec -> train/rec, valid_loss -> valid/loss."""
    for split in ("train", "valid"):
        if column.startswith(split + "_"):
            return f"{split}/{column[len(split) + 1 :]}"
    return {"seconds": "seconds_per_epoch"}.get(column, column)


def eval_metrics(result: dict[str, Any]) -> dict[str, float]:
    """eval.json -> flat metrics: eval/fid_rec, eval/fid_gmm, eval/prd_f8_gmm, eval/prd_f1_8_gmm..."""
    values = {f"eval/fid_{k}": float(v) for k, v in result.get("fid", {}).items()}
    for kind, curve in result.get("prd", {}).items():
        values[f"eval/prd_f8_{kind}"] = float(curve["f8"])
        values[f"eval/prd_f1_8_{kind}"] = float(curve["f1_8"])
    return values


class Tracker:
    """Fans each call out to its backends; a failing backend warns once and is dropped."""

    def __init__(self, backends: list[Any]):
        self.backends = backends

    def _each(self, method: str, *args) -> None:
        for backend in list(self.backends):
            try:
                getattr(backend, method)(*args)
            except Exception as exc:  # tracking must never break training or evaluation
                self.backends.remove(backend)
                print(
                    f"raekit: warning: {backend.name} tracking stopped ({exc.__class__.__name__}: {exc}); "
                    "the run itself continues",
                    file=sys.stderr,
                    flush=True,
                )

    def log_epoch(self, row: dict[str, float], model=None, images=None) -> None:
        """One metrics.csv row; with a model and uint8 validation images, also the epoch's grid."""
        if not self.backends:
            return
        grid = None
        if (
            model is not None
            and images is not None
            and len(images) >= 2
            and images.dtype == torch.uint8
        ):
            try:
                grid = epoch_grid(model, images)
            except Exception as exc:
                print(
                    f"raekit: warning: no tracking image this epoch ({exc.__class__.__name__}: {exc})",
                    file=sys.stderr,
                )
        metrics = {metric_name(k): float(v) for k, v in row.items() if k != "epoch"}
        self._each("log_epoch", int(row["epoch"]), metrics, grid)

    def log_eval(self, result: dict[str, Any], step: int, figures: Iterable[Path] = ()) -> None:
        self._each("log_eval", step, eval_metrics(result), list(figures))

    def log_figures(self, figures: Iterable[Path], step: int) -> None:
        self._each("log_figures", step, list(figures))

    def finish(self) -> None:
        self._each("finish")


def open_tracker(
    track, run_dir: str | Path, config=None, *, experiment: str | None = None, is_main: bool = True
) -> Tracker:
    """A Tracker for `track` (names or 'a,b'); an empty one when nothing is asked or off rank 0."""
    names = parse_backends(track)
    if not names or not is_main:
        return Tracker([])
    run_dir = Path(run_dir)
    made = []
    for name in names:
        backend = {"tensorboard": _TensorBoard, "mlflow": _MLflow}[name]
        try:
            made.append(backend(run_dir, config, experiment))
        except Exception as exc:
            print(
                f"raekit: warning: {name} tracking could not start ({exc.__class__.__name__}: {exc}); "
                "the run itself continues",
                file=sys.stderr,
                flush=True,
            )
    return Tracker(made)


def log_files(
    track, run_dir: str | Path, figures: Iterable[Path], experiment: str | None = None
) -> None:
    """Add finished figures (PNG) to a run's logs, at its last epoch."""

    rows = runs.read_metrics(run_dir)
    tracker = open_tracker(track, run_dir, experiment=experiment)
    tracker.log_figures(figures, int(rows[-1]["epoch"]) if rows else 0)
    tracker.finish()


def epoch_grid(model, images, n: int = 8, seed: int = 0) -> np.ndarray:
    """uint8 RGB grid of four rows: n inputs, their reconstructions, N(0, I) samples and samples
    of a Gaussian fitted to the codes of all `images` (uint8 NCHW). Eval mode, no gradients, and
    the global RNG is restored, so tracking leaves training bit-identical."""

    was_training = model.training
    device = next(model.parameters()).device
    model.eval()
    try:
        gpus = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=gpus), torch.no_grad():
            torch.manual_seed(seed)
            x = torch.as_tensor(images).to(device).float() / 255.0
            codes = model.encode(x).double()
            n = min(n, len(x))
            recon = model.decode(codes[:n].float())
            prior = model.decode(torch.randn(n, codes.shape[1], device=device))
            eye = torch.eye(codes.shape[1], dtype=codes.dtype, device=device)
            fitted = torch.distributions.MultivariateNormal(
                codes.mean(0), torch.cov(codes.T) + 1e-6 * eye
            )
            gauss = model.decode(fitted.sample((n,)).float())
    finally:
        model.train(was_training)
    return image_grid(torch.cat([x[:n], recon, prior, gauss]).cpu().numpy(), nrow=n)


class _TensorBoard:
    name = "tensorboard"

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


class _MLflow:
    name = "mlflow"

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
