"""Experiment tracking with TensorBoard, MLflow and Weights & Biases (the optional `track` extra).

`open_tracker(["tensorboard", "mlflow", "wandb"], run_dir, config)` returns one object whose `log_epoch`
(every metrics.csv column and an image grid), `log_eval` (FIDs, PRD) and `finish` (artifacts) the
training loop and `evaluate` call. Tracking never stops the work it watches: the first error of a
backend is one warning on stderr, and that backend is then switched off. Under torchrun only rank 0
tracks. TensorBoard writes RUN/tb/NAME/; MLflow uses its own store (MLFLOW_TRACKING_URI, else its
default in the working folder); W&B logs offline into RUN/wandb/ unless WANDB_MODE says otherwise.
RUN/tracking.json remembers the MLflow and W&B runs so that resume and evaluate continue them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from raekit import runs
from raekit.errors import RaekitError
from raekit.plots import image_grid
from raekit.training import timebox
from raekit.training.tracking_backends import MLflowBackend, TensorBoardBackend
from raekit.training.tracking_wandb import WandbBackend

BACKENDS = ("tensorboard", "mlflow", "wandb")


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
        try:
            __import__(name)
        except ImportError:
            raise RaekitError(
                f'--track {name} needs the {name} package: pip install "raekit[track]"'
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
                timebox.call(getattr(backend, method), *args)
            except Exception as exc:  # tracking must never break (or stall) training or evaluation
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
        backend = {
            "tensorboard": TensorBoardBackend,
            "mlflow": MLflowBackend,
            "wandb": WandbBackend,
        }[name]
        try:
            backend.prepare()  # imports, outside the time limit: slow on busy cores, never hung
            made.append(timebox.call(backend, run_dir, config, experiment))
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


def track_eval(
    track, run_dir: str | Path, result: dict[str, Any], experiment: str | None = None
) -> None:
    """Log an evaluation (eval.json's content) at the run's last epoch, with any figures already
    drawn, to the run's TensorBoard / MLflow / W&B logs."""
    run_dir = Path(run_dir)
    tracker = open_tracker(track, run_dir, runs.read_config(run_dir), experiment=experiment)
    rows = runs.read_metrics(run_dir)
    step = int(rows[-1]["epoch"]) if rows else 0
    tracker.log_eval(result, step, sorted((run_dir / "figures").glob("*.png")))
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
