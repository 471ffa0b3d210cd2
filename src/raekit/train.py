"""The training loop: Adam, halve the learning rate on a validation plateau, keep the best weights.

Checkpoints carry the position inside an epoch, so a run stopped anywhere (Ctrl-C, SIGTERM, a
crash) resumes from its last checkpoint and ends with exactly the weights of an uninterrupted run.
"""
from __future__ import annotations

import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from raekit import checkpoint, runs
from raekit.config import RunConfig
from raekit.errors import RaekitError
from raekit.models.build import build_from_config

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class TrainingInterrupted(Exception):
    """Raised after the final checkpoint when a signal stopped training; carries the exit code."""

    def __init__(self, signum: int, run_dir: Path):
        self.exit_code = EXIT_CODES.get(signum, 128 + int(signum))
        super().__init__(f"interrupted by {signal.Signals(signum).name}; resume with "
                         f"`raekit train --out {run_dir} --resume`")


@dataclass
class _State:
    """Everything besides tensors that a checkpoint must restore."""
    epoch: int = 0               # epoch in progress
    batch: int = 0               # next batch of that epoch
    sums: dict[str, float] = field(default_factory=dict)  # running term sums of that epoch
    seen: int = 0                # batches summed into `sums`
    best_valid: float | None = None
    bad_batches: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


def train(config: RunConfig, out: str | Path, *, resume: bool = False, data=None,
          encoder: torch.nn.Module | None = None, decoder: torch.nn.Module | None = None,
          progress: bool | None = None) -> Path:
    """Train `config` into run directory `out` and return it. `data` may be an ImageSplits."""
    run_dir = Path(out)
    _check_config(config)
    _prepare_run_dir(run_dir, config, resume)
    train_x, valid_x = _training_arrays(config, data)
    if config.batch_size > len(train_x):
        raise RaekitError(f"batch_size {config.batch_size} is larger than the training set ({len(train_x)} images)")
    device = torch.device(config.device)
    torch.manual_seed(config.seed)
    model = build_from_config(config, encoder, decoder).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=config.lr_factor, patience=config.lr_patience)
    state = _State()
    if resume:
        _restore(run_dir, model, optimizer, scheduler, state)
    else:
        runs.write_config(run_dir, config)
    with _SignalCatcher() as stop:
        loop = _Loop(config, run_dir, model, optimizer, scheduler, state, device, stop, progress)
        loop.run(train_x, valid_x)
    return run_dir


class _Loop:
    def __init__(self, config, run_dir, model, optimizer, scheduler, state, device, stop, progress):
        self.config, self.run_dir, self.model = config, run_dir, model
        self.optimizer, self.scheduler, self.state = optimizer, scheduler, state
        self.device, self.stop = device, stop
        self.progress = sys.stderr.isatty() if progress is None else progress

    def run(self, train_x: torch.Tensor, valid_x: torch.Tensor) -> None:
        config, state = self.config, self.state
        # A last partial batch is kept unless it holds one image (BatchNorm needs two).
        batches = len(train_x) // config.batch_size + int(len(train_x) % config.batch_size > 1)
        while state.epoch < config.epochs:
            started = time.perf_counter()
            order = epoch_order(len(train_x), config.seed, state.epoch)
            self.model.train()
            for b in _progress(range(state.batch, batches), self.progress, state.epoch, config.epochs):
                idx = order[b * config.batch_size:(b + 1) * config.batch_size]
                self._step(_as_float(train_x[idx], self.device), b)
                state.batch = b + 1
                if self.stop.signum is not None:
                    self._save()
                    raise TrainingInterrupted(self.stop.signum, self.run_dir)
            self._end_epoch(valid_x, time.perf_counter() - started)

    def _step(self, x: torch.Tensor, batch: int) -> None:
        terms = self.model.loss(x)
        loss = terms["loss"]
        if not torch.isfinite(loss):
            self._non_finite(terms, batch)
            return
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        for name, value in terms.items():
            self.state.sums[name] = self.state.sums.get(name, 0.0) + float(value.detach())
        self.state.seen += 1

    def _non_finite(self, terms: dict[str, torch.Tensor], batch: int) -> None:
        state = self.state
        listing = ", ".join(f"{k}={float(v.detach()):.4g}" for k, v in terms.items())
        where = f"epoch {state.epoch + 1}, batch {batch + 1}"
        if state.bad_batches < self.config.skip_nonfinite:
            state.bad_batches += 1
            print(f"raekit: skipping non-finite loss at {where} ({listing}); "
                  f"{state.bad_batches}/{self.config.skip_nonfinite} skips used", file=sys.stderr)
            return
        raise RaekitError(f"non-finite loss at {where} ({listing}); stopped before the optimiser step. "
                          f"Lower the learning rate or loss weights, or allow skips with --set skip_nonfinite=K")

    def _end_epoch(self, valid_x: torch.Tensor, seconds: float) -> None:
        config, state = self.config, self.state
        valid = evaluate_loss(self.model, valid_x, config.batch_size, config.seed, self.device)
        row = {"epoch": state.epoch + 1, "lr": self.optimizer.param_groups[0]["lr"], "seconds": round(seconds, 3)}
        row.update({f"train_{k}": v / max(state.seen, 1) for k, v in state.sums.items()})
        row.update({f"valid_{k}": v for k, v in valid.items()})
        self.scheduler.step(valid["loss"])
        state.history.append(row)
        if state.best_valid is None or valid["loss"] < state.best_valid:
            state.best_valid = valid["loss"]
            checkpoint.save_weights(self.run_dir / runs.WEIGHTS_FILE, self.model,
                                    {"epoch": state.epoch + 1, "valid_loss": valid["loss"]})
        state.epoch, state.batch, state.sums, state.seen = state.epoch + 1, 0, {}, 0
        runs.write_metrics(self.run_dir, state.history)
        self._save()
        print(f"epoch {row['epoch']}/{config.epochs}  train loss {row.get('train_loss', float('nan')):.4f}  "
              f"valid loss {valid['loss']:.4f}  lr {row['lr']:.2e}  {seconds:.1f}s", flush=True)

    def _save(self) -> None:
        state = self.state
        extra = {k: v for k, v in vars(state).items()}
        step = state.epoch * 1_000_000 + state.batch  # orders checkpoints within and across epochs
        checkpoint.save_checkpoint(self.run_dir / runs.CHECKPOINTS, step, self.model, self.optimizer,
                                   self.scheduler, extra, keep=self.config.keep_checkpoints)


def evaluate_loss(model, images: torch.Tensor, batch_size: int, seed: int,
                  device: torch.device) -> dict[str, float]:
    """Mean of every loss term over `images`, in eval mode, with seeded noise that leaves the
    training RNG untouched."""
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for start in range(0, len(images), batch_size):
            x = _as_float(images[start:start + batch_size], device)
            for name, value in model.loss(x).items():
                sums[name] = sums.get(name, 0.0) + float(value) * len(x)
    model.train(was_training)
    return {name: total / len(images) for name, total in sums.items()}


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffled order of epoch `epoch`: a pure function of (seed, epoch), so resume is exact."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator)


def _as_float(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    return images.to(device, non_blocking=True).float().div_(255.0)


def _training_arrays(config: RunConfig, data) -> tuple[torch.Tensor, torch.Tensor]:
    if data is None:
        from raekit.data import load_images
        data = load_images(config.dataset, config.data_root)
    train_x, valid_x = data.train[:config.train_limit], data.valid[:config.valid_limit]
    if len(train_x) == 0 or len(valid_x) == 0:
        raise RaekitError(f"dataset {config.dataset!r} has an empty training or validation split")
    if tuple(train_x.shape[1:]) != config.image_shape:
        raise RaekitError(f"images have shape {tuple(train_x.shape[1:])}, the model expects {config.image_shape}")
    return torch.from_numpy(np.ascontiguousarray(train_x)), torch.from_numpy(np.ascontiguousarray(valid_x))


def _check_config(config: RunConfig) -> None:
    for key in ("epochs", "batch_size", "latent_dim", "gp_projections", "keep_checkpoints"):
        if getattr(config, key) < 1:
            raise RaekitError(f"config {key} must be at least 1, got {getattr(config, key)}")
    for key in ("width", "lr"):
        if not getattr(config, key) > 0:
            raise RaekitError(f"config {key} must be positive, got {getattr(config, key)}")
    if not 0 < config.lr_factor < 1:
        raise RaekitError(f"config lr_factor must be in (0, 1), got {config.lr_factor}")


def _prepare_run_dir(run_dir: Path, config: RunConfig, resume: bool) -> None:
    has_run = (run_dir / runs.CONFIG_FILE).exists()
    if resume and not has_run:
        raise RaekitError(f"nothing to resume: {run_dir} has no {runs.CONFIG_FILE}")
    if not resume and has_run:
        raise RaekitError(f"{run_dir} already holds a run; resume it with --resume or choose another --out")
    if not resume and run_dir.exists() and any(run_dir.iterdir()):
        raise RaekitError(f"{run_dir} exists and is not empty; choose a new --out")
    run_dir.mkdir(parents=True, exist_ok=True)


def _restore(run_dir, model, optimizer, scheduler, state: _State) -> None:
    extra = checkpoint.load_checkpoint(run_dir / runs.CHECKPOINTS, model, optimizer, scheduler)
    for key in vars(state):
        if key in extra:
            setattr(state, key, extra[key])


def _progress(iterable, enabled: bool, epoch: int, epochs: int):
    if not enabled:
        return iterable
    from tqdm import tqdm
    return tqdm(iterable, desc=f"epoch {epoch + 1}/{epochs}", leave=False, unit="batch")


class _SignalCatcher:
    """Turn SIGINT/SIGTERM into a flag the loop checks after each step (main thread only)."""

    def __enter__(self):
        self.signum, self._old = None, {}
        import threading
        if threading.current_thread() is threading.main_thread():
            for sig in EXIT_CODES:
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.signum = signum

    def __exit__(self, *exc):
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        return False
