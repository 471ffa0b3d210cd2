"""The epochs of one training run: seeded batches, one guarded optimiser step each (non-finite
losses or gradients skipped or refused), validation, the plateau schedule, best weights and
checkpoints. `raekit.training.loop.train` sets a run up and drives it."""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from raekit import distributed, runs
from raekit.config import RunConfig
from raekit.errors import RaekitError, TrainingInterrupted
from raekit.io.atomic import atomic_write_bytes
from raekit.runs import checkpoint, weights
from raekit.training import fast, tracking
from raekit.training.stopping import kept_epochs, kept_weights, rule_text, should_stop
from raekit.training.utils import (
    SignalCatcher,
    epoch_order,
    progress_bar,
    run_identity,
    step_seed,
    to_input,
)
from raekit.training.validation import evaluate_loss


def checkpoint_step(epoch: int, batch: int) -> int:
    """The number of the checkpoint taken before `batch` of `epoch` (0-based): it orders
    checkpoints within and across epochs; the end of epoch e is (e, 0)."""
    return epoch * checkpoint.EPOCH_STEPS + batch


@dataclass
class RunState:
    """Everything besides tensors that a checkpoint must restore."""

    epoch: int = 0  # epoch in progress
    batch: int = 0  # next batch of that epoch
    sums: dict[str, float] = field(default_factory=dict)  # running term sums of that epoch
    seen: int = 0  # batches summed into `sums`
    best_valid: float | None = None
    bad_batches: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0  # epoch of best_valid (0: none yet)
    lr_cuts: list[int] = field(default_factory=list)  # epochs whose end cut the learning rate
    stopped: dict[str, Any] | None = None  # {"epoch", "rule"} once the early-stop rule fired


class LossModule(nn.Module):
    """DistributedDataParallel syncs gradients of what its forward computes: here, the loss."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.model.loss(x)


@dataclass
class EpochLoop:
    """One training run in progress: epochs of optimiser steps, validation, checkpoints."""

    config: RunConfig
    run_dir: Path
    model: nn.Module
    net: nn.Module  # the model's loss, wrapped for data-parallel training
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau
    state: RunState
    ctx: distributed.Context
    stop: SignalCatcher
    show: bool | None  # progress: a bar, log lines (None: by terminal) or nothing
    tracker: tracking.Tracker

    def run(self, train_x: torch.Tensor, valid_x: torch.Tensor) -> None:
        config, state, ctx = self.config, self.state, self.ctx
        size = config.batch_size
        # A last partial batch is kept unless too small to split over ranks with 2 images each
        # (BatchNorm needs two).
        batches = len(train_x) // size + int(len(train_x) % size >= 2 * ctx.world_size)
        steps_left = (config.epochs - state.epoch) * batches - state.batch
        self.net = fast.training_net(self.net, self.model, config, ctx, steps_left)
        while state.epoch < config.epochs and state.stopped is None:
            started = time.perf_counter()
            order = epoch_order(len(train_x), config.seed, state.epoch)
            self.model.train()
            for b in progress_bar(
                range(state.batch, batches), self.show, state.epoch, config.epochs
            ):
                idx = order[b * size : (b + 1) * size]
                if ctx.distributed:
                    idx = distributed.shard(idx[: len(idx) - len(idx) % ctx.world_size], ctx)
                torch.manual_seed(step_seed(config.seed, state.epoch, b, ctx.rank))
                stop = self._step(to_input(train_x[idx], ctx.device), b)
                state.batch = b + 1
                if stop:
                    self._save()
                    raise TrainingInterrupted(self.stop.signum or 15, self.run_dir)
            self._end_epoch(valid_x, time.perf_counter() - started)

    def _step(self, x: torch.Tensor, batch: int) -> bool:
        """One optimiser step; returns whether a stop signal arrived (on any rank)."""
        buffers = self._buffers() if self.state.bad_batches < self.config.skip_nonfinite else None
        terms = self.net(x)
        names = list(terms)
        # Loss terms and the stop flag are averaged over ranks before any decision, so every
        # rank skips, stops or steps together.
        summary = torch.stack(
            [terms[k].detach().double() for k in names]
            + [
                torch.tensor(
                    float(self.stop.signum is not None),
                    dtype=torch.float64,
                    device=terms["loss"].device,
                )
            ]
        )
        summary = distributed.all_reduce_sum(self.ctx, summary) / self.ctx.world_size
        values = dict(zip(names, summary[:-1].tolist()))
        stop = bool(summary[-1] > 0)
        if not np.isfinite(values["loss"]):
            self._non_finite(values, batch, "loss", buffers)
            return stop
        self.optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        if not self._finite_gradients():
            self.optimizer.zero_grad(set_to_none=True)
            self._non_finite(values, batch, "gradient", buffers)
            return stop
        self.optimizer.step()
        for name, value in values.items():
            self.state.sums[name] = self.state.sums.get(name, 0.0) + value
        self.state.seen += 1
        return stop

    def _buffers(self) -> list[torch.Tensor]:
        """Copies of every buffer (batch-norm statistics and counters, spectral-norm vectors): the
        forward pass updates them, and a skipped batch must leave no trace."""
        return [b.detach().clone() for b in self.model.buffers()]

    def _finite_gradients(self) -> bool:
        # Gradients are all-reduced by now, so every rank reaches the same verdict.
        grads = [p.grad for p in self.model.parameters() if p.grad is not None]
        return not grads or bool(torch.stack([torch.isfinite(g).all() for g in grads]).all())

    def _non_finite(self, values: dict[str, float], batch: int, what: str, buffers) -> None:
        if buffers is not None:
            with torch.no_grad():
                for buffer, saved in zip(self.model.buffers(), buffers):
                    buffer.copy_(saved)
        state = self.state
        listing = ", ".join(f"{k}={v:.4g}" for k, v in values.items())
        where = f"epoch {state.epoch + 1}, batch {batch + 1}"
        if state.bad_batches < self.config.skip_nonfinite:
            state.bad_batches += 1
            if self.ctx.is_main:
                print(
                    f"raekit: skipping non-finite {what} at {where} ({listing}); "
                    f"{state.bad_batches}/{self.config.skip_nonfinite} skips used",
                    file=sys.stderr,
                )
            return
        raise RaekitError(
            f"non-finite {what} at {where} ({listing}); stopped before the optimiser step. "
            f"Lower the learning rate or loss weights, or allow skips with --set skip_nonfinite=K"
        )

    def _end_epoch(self, valid_x: torch.Tensor, seconds: float) -> None:
        config, state = self.config, self.state
        valid = evaluate_loss(self.model, valid_x, config.batch_size, config.seed, self.ctx)
        row = {
            "epoch": state.epoch + 1,
            "lr": self.optimizer.param_groups[0]["lr"],
            "seconds": round(seconds, 3),
        }
        row.update({f"train_{k}": v / max(state.seen, 1) for k, v in state.sums.items()})
        row.update({f"valid_{k}": v for k, v in valid.items()})
        self.scheduler.step(valid["loss"])
        if self.optimizer.param_groups[0]["lr"] < row["lr"]:
            state.lr_cuts.append(row["epoch"])
        state.history.append(row)
        # A non-finite validation loss never counts as an improvement, not even in the first epoch.
        improved = bool(np.isfinite(valid["loss"])) and (
            state.best_valid is None or valid["loss"] < state.best_valid
        )
        if improved:
            state.best_valid, state.best_epoch = valid["loss"], row["epoch"]
        state.epoch, state.batch, state.sums, state.seen = state.epoch + 1, 0, {}, 0
        self._check_stop(row["epoch"])
        if self.ctx.is_main:
            if improved:
                weights.save_weights(
                    self.run_dir / runs.WEIGHTS_FILE,
                    self.model,
                    {
                        "epoch": row["epoch"],
                        "valid_loss": valid["loss"],
                        "run": run_identity(self.config),
                    },
                )
            if row["epoch"] in kept_epochs(config.keep_epochs):
                self._keep_best(row["epoch"])
            runs.write_metrics(self.run_dir, state.history)
            self.tracker.log_epoch(
                row, self.model, valid_x[:256] if self.config.image_shape else None
            )
            print(
                f"epoch {row['epoch']}/{config.epochs}  train loss {row.get('train_loss', float('nan')):.4f}  "
                f"valid loss {valid['loss']:.4f}  lr {row['lr']:.2e}  {seconds:.1f}s",
                flush=True,
            )
            if state.stopped is not None:
                print(
                    f"stopped early after epoch {row['epoch']}: {state.stopped['rule']}", flush=True
                )
        self._save()

    def _check_stop(self, epoch: int) -> None:
        """Record an early stop when the rule fires before the last epoch (the rule: stopping)."""
        config, state = self.config, self.state
        patience, cuts = config.stop_patience, config.stop_after_cuts
        if epoch < config.epochs and should_stop(
            epoch, state.best_epoch, state.lr_cuts, patience, cuts
        ):
            state.stopped = {"epoch": epoch, "rule": rule_text(patience, cuts)}

    def _keep_best(self, epoch: int) -> None:
        """Copy the best weights so far: what a run of `epoch` epochs would have ended with."""
        source = self.run_dir / runs.WEIGHTS_FILE
        if not source.is_file():  # no finite validation loss yet
            return
        target = kept_weights(self.run_dir, epoch)
        target.parent.mkdir(exist_ok=True)
        atomic_write_bytes(target, source.read_bytes())
        atomic_write_bytes(target.with_suffix(".json"), source.with_suffix(".json").read_bytes())

    def _save(self) -> None:
        if self.ctx.is_main:
            state = self.state
            step = checkpoint_step(state.epoch, state.batch)
            extra = {**vars(state), "config": dataclasses.asdict(self.config)}  # resume checks it
            checkpoint.save_checkpoint(
                self.run_dir / runs.CHECKPOINTS,
                step,
                self.model,
                self.optimizer,
                self.scheduler,
                extra,
                keep=self.config.keep_checkpoints,
                pinned={checkpoint_step(e, 0) for e in kept_epochs(self.config.keep_epochs)},
            )
        distributed.barrier(self.ctx)
