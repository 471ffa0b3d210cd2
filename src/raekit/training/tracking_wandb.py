"""Weights & Biases tracking (`--track wandb`): offline by default, so nothing leaves the machine
until `wandb sync RUN/wandb/offline-run-*` (or WANDB_MODE=online to log live). The run's id sits in
RUN/tracking.json, so `--resume`, `evaluate` and `reproduce` continue the same W&B run."""

from __future__ import annotations

import dataclasses
import os
import uuid
from pathlib import Path

from raekit.training.tracking_backends import (
    DEFAULT_EXPERIMENT,
    read_state,
    run_name,
    write_state,
)

DEFAULT_MODE = "offline"  # WANDB_MODE overrides it (online, offline, disabled)


class WandbBackend:
    name = "wandb"

    @staticmethod
    def prepare() -> None:
        import wandb  # noqa: F401

    def __init__(self, run_dir: Path, config, experiment):
        # the track extra
        import wandb

        self.run_dir = Path(run_dir)
        state = read_state(self.run_dir)
        run_id = state.get("wandb_run_id") or uuid.uuid4().hex[:8]
        self.run = wandb.init(
            project=experiment or os.environ.get("WANDB_PROJECT") or DEFAULT_EXPERIMENT,
            name=run_name(self.run_dir),
            id=run_id,
            resume="allow",
            dir=str(self.run_dir),
            mode=os.environ.get("WANDB_MODE") or DEFAULT_MODE,
            config=None if config is None else dataclasses.asdict(config),
            settings=wandb.Settings(silent=True, console="off"),
        )
        # Every metric is plotted against the epoch, so evaluation may log at the last one again.
        self.run.define_metric("epoch")
        self.run.define_metric("*", step_metric="epoch")
        if state.get("wandb_run_id") != run_id:
            write_state(self.run_dir, {"wandb_run_id": run_id})

    def log_epoch(self, epoch: int, metrics: dict[str, float], grid) -> None:
        # the track extra
        import wandb

        values = {"epoch": epoch, **metrics}
        if grid is not None:
            values["images/input_recon_prior_gaussian"] = wandb.Image(grid)
        self.run.log(values)

    def log_eval(self, step: int, metrics: dict[str, float], figures: list[Path]) -> None:
        self.run.log({"epoch": step, **metrics})
        if (self.run_dir / "eval.json").is_file():
            self.run.save(str(self.run_dir / "eval.json"), base_path=str(self.run_dir))
        self.log_figures(step, figures)

    def log_figures(self, step: int, figures: list[Path]) -> None:
        # the track extra
        import wandb

        if figures:
            images = {f"figures/{Path(p).stem}": wandb.Image(str(p)) for p in figures}
            self.run.log({"epoch": step, **images})

    def finish(self) -> None:
        for name in ("config.yaml", "metrics.csv"):
            if (self.run_dir / name).is_file():
                self.run.save(str(self.run_dir / name), base_path=str(self.run_dir))
        self.run.finish()
