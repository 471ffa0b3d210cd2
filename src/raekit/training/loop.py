"""The training loop: Adam, halve the learning rate on a validation plateau, keep the best weights.

Shuffling and noise are pure functions of (seed, epoch, batch, rank), and checkpoints carry the
position inside an epoch, so a run stopped anywhere (Ctrl-C, SIGTERM, a crash, a lost rank)
resumes from its last checkpoint and ends with exactly the weights of an uninterrupted run.
Under torchrun the same loop runs data-parallel; rank 0 alone writes files and prints.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
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
from raekit.data import load_images
from raekit.errors import RaekitError
from raekit.models.build import build_from_config
from raekit.runs import checkpoint, weights
from raekit.training import tracking
from raekit.training.utils import (
    SignalCatcher,
    TrainingInterrupted,
    check_resumable,
    epoch_order,
    locked_run,
    prepare_run_dir,
    progress_bar,
    step_seed,
    to_input,
)

__all__ = ["TrainingInterrupted", "evaluate_loss", "train"]


@dataclass
class _State:
    """Everything besides tensors that a checkpoint must restore."""

    epoch: int = 0  # epoch in progress
    batch: int = 0  # next batch of that epoch
    sums: dict[str, float] = field(default_factory=dict)  # running term sums of that epoch
    seen: int = 0  # batches summed into `sums`
    best_valid: float | None = None
    bad_batches: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


class _LossModule(nn.Module):
    """DistributedDataParallel syncs gradients of what its forward computes: here, the loss."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.model.loss(x)


def train(
    config: RunConfig,
    out: str | Path,
    *,
    resume: bool = False,
    data=None,
    encoder: nn.Module | None = None,
    decoder: nn.Module | None = None,
    progress: bool | None = None,
    track=None,
    experiment: str | None = None,
) -> Path:
    """Train `config` into run directory `out` and return it. `data` may be an ImageSplits;
    `track` names trackers ("tensorboard", "mlflow"; see raekit.training.tracking)."""
    run_dir = Path(out)
    tracking.parse_backends(track)
    ctx = distributed.setup(config.device)
    lock = contextlib.ExitStack()
    try:
        # torchrun restarts every worker after a failure: continue from the last checkpoint.
        if (
            os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") != "0"
            and (run_dir / runs.CONFIG_FILE).exists()
        ):
            resume = True
        lock.enter_context(locked_run(run_dir, ctx))  # one writer per run, also across crashes
        prepare_run_dir(run_dir, resume)
        if resume:
            check_resumable(run_dir, config)
        train_x, valid_x = _training_arrays(config, data)
        if config.batch_size > len(train_x):
            raise RaekitError(
                f"batch_size {config.batch_size} is larger than the training set ({len(train_x)} images)"
            )
        torch.manual_seed(config.seed)
        model = build_from_config(config, encoder, decoder).to(ctx.device)
        net = distributed.wrap_for_training(_LossModule(model), ctx)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="min",
            factor=config.lr_factor,
            patience=config.lr_patience,
            min_lr=config.min_lr,
        )
        state = _State()
        distributed.barrier(ctx)
        if resume:
            _restore(run_dir, model, optimizer, scheduler, state, ctx.is_main)
            if ctx.is_main:  # e.g. more epochs; written only once the checkpoint has loaded
                runs.write_config(run_dir, config)
        elif ctx.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            runs.write_config(run_dir, config)
        if ctx.is_main:
            runs.write_status(run_dir, finished=False, epochs=config.epochs)
        distributed.barrier(ctx)
        show = (
            progress if ctx.is_main else False
        )  # None: a bar on a terminal, else a line every ~10 s
        tracker = tracking.open_tracker(
            track, run_dir, config, experiment=experiment, is_main=ctx.is_main
        )
        try:
            with SignalCatcher() as stop:
                loop = _Loop(
                    config=config,
                    run_dir=run_dir,
                    model=model,
                    net=net,
                    optimizer=optimizer,
                    scheduler=scheduler,
                    state=state,
                    ctx=ctx,
                    stop=stop,
                    show=show,
                    tracker=tracker,
                )
                loop.run(train_x, valid_x)
        finally:
            tracker.finish()
        if state.best_valid is None:
            raise RaekitError(
                f"no epoch of {run_dir} had a finite validation loss, so no weights were saved; "
                f"lower the learning rate or loss weights"
            )
        if ctx.is_main:
            runs.write_status(run_dir, finished=True, epochs=config.epochs)
    finally:
        lock.close()
        distributed.teardown(ctx)
    return run_dir


@dataclass
class _Loop:
    """One training run in progress: epochs of optimiser steps, validation, checkpoints."""

    config: RunConfig
    run_dir: Path
    model: nn.Module
    net: nn.Module  # the model's loss, wrapped for data-parallel training
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau
    state: _State
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
        while state.epoch < config.epochs:
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
        state.history.append(row)
        # A non-finite validation loss never counts as an improvement, not even in the first epoch.
        improved = bool(np.isfinite(valid["loss"])) and (
            state.best_valid is None or valid["loss"] < state.best_valid
        )
        if improved:
            state.best_valid = valid["loss"]
        state.epoch, state.batch, state.sums, state.seen = state.epoch + 1, 0, {}, 0
        if self.ctx.is_main:
            if improved:
                weights.save_weights(
                    self.run_dir / runs.WEIGHTS_FILE,
                    self.model,
                    {"epoch": row["epoch"], "valid_loss": valid["loss"]},
                )
            runs.write_metrics(self.run_dir, state.history)
            self.tracker.log_epoch(
                row, self.model, valid_x[:256] if self.config.image_shape else None
            )
            print(
                f"epoch {row['epoch']}/{config.epochs}  train loss {row.get('train_loss', float('nan')):.4f}  "
                f"valid loss {valid['loss']:.4f}  lr {row['lr']:.2e}  {seconds:.1f}s",
                flush=True,
            )
        self._save()

    def _save(self) -> None:
        if self.ctx.is_main:
            state = self.state
            step = (
                state.epoch * 1_000_000 + state.batch
            )  # orders checkpoints within and across epochs
            extra = {**vars(state), "config": dataclasses.asdict(self.config)}  # resume checks it
            checkpoint.save_checkpoint(
                self.run_dir / runs.CHECKPOINTS,
                step,
                self.model,
                self.optimizer,
                self.scheduler,
                extra,
                keep=self.config.keep_checkpoints,
            )
        distributed.barrier(self.ctx)


def evaluate_loss(
    model: nn.Module,
    images: torch.Tensor,
    batch_size: int,
    seed: int,
    ctx: distributed.Context | None = None,
) -> dict[str, float]:
    """Mean of every loss term over `images` in eval mode; seeded noise, training RNG untouched.
    Under torchrun each rank takes a share and the sums are all-reduced."""
    ctx = ctx or distributed.Context(device=next(model.parameters()).device)
    was_training = model.training
    model.eval()
    sums: dict[str, torch.Tensor] = {}
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        for start in range(ctx.rank * batch_size, len(images), batch_size * ctx.world_size):
            torch.manual_seed(seed + start)
            x = to_input(images[start : start + batch_size], ctx.device)
            for name, value in model.loss(x).items():
                sums[name] = sums.get(name, 0.0) + value.double() * len(x)
        if not sums:  # fewer batches than ranks: this one adds zeros, under the same loss names
            sums = dict.fromkeys(model.loss(to_input(images[:1], ctx.device)), 0.0)
    model.train(was_training)
    names = sorted(sums)
    totals = torch.stack([torch.as_tensor(sums[k], dtype=torch.float64) for k in names])
    totals = distributed.all_reduce_sum(ctx, totals.to(ctx.device)).cpu()
    return {name: float(total) / len(images) for name, total in zip(names, totals)}


def _training_arrays(config: RunConfig, data) -> tuple[torch.Tensor, torch.Tensor]:
    if data is None:
        data = load_data(config)
    train_x, valid_x = data.train[: config.train_limit], data.valid[: config.valid_limit]
    if len(train_x) == 0 or len(valid_x) == 0:
        raise RaekitError(f"dataset {config.dataset!r} has an empty training or validation split")
    if config.image_shape and tuple(train_x.shape[1:]) != config.image_shape:
        raise RaekitError(
            f"images have shape {tuple(train_x.shape[1:])}, the model expects {config.image_shape}"
        )
    return torch.from_numpy(np.ascontiguousarray(train_x)), torch.from_numpy(
        np.ascontiguousarray(valid_x)
    )


def load_data(config: RunConfig):
    """The splits a config trains on: images, or a sequence task's encoded strings."""
    if config.image_shape is None:
        from raekit.grammar.task import load_sequences

        return load_sequences(config)

    return load_images(config.dataset, config.data_root)


def _restore(run_dir, model, optimizer, scheduler, state: _State, announce: bool) -> None:
    if not checkpoint.list_checkpoints(run_dir / runs.CHECKPOINTS):
        # Stopped before its first checkpoint: nothing was trained that counts, so start over
        # (same seed, same result) instead of leaving a run that can neither resume nor restart.
        if announce:
            print(
                f"raekit: {run_dir} has no checkpoint yet; training from the start", file=sys.stderr
            )
        return
    extra = checkpoint.load_checkpoint(run_dir / runs.CHECKPOINTS, model, optimizer, scheduler)
    for key in vars(state):
        if key in extra:
            setattr(state, key, extra[key])
