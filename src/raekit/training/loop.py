"""The training loop: Adam, halve the learning rate on a validation plateau, keep the best weights.

Shuffling and noise are pure functions of (seed, epoch, batch, rank), and checkpoints carry the
position inside an epoch, so a run stopped anywhere (Ctrl-C, SIGTERM, a crash, a lost rank)
resumes from its last checkpoint and ends with exactly the weights of an uninterrupted run.
Under torchrun the same loop runs data-parallel; rank 0 alone writes files and prints.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import torch
from torch import nn

from raekit import distributed, notices, runs
from raekit.config import RunConfig
from raekit.errors import RaekitError
from raekit.models.build import build_from_config
from raekit.runs import checkpoint
from raekit.training import tracking
from raekit.training.epochs import EpochLoop, LossModule, RunState
from raekit.training.inputs import training_arrays
from raekit.training.own_data import is_own_data, own_training, record_own_data
from raekit.training.utils import (
    SignalCatcher,
    check_resumable,
    locked_run,
    prepare_run_dir,
)


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
    """Train `config` into run directory `out` and return it; `track` names trackers
    ("tensorboard", "mlflow"; see raekit.training.tracking).

    `data`: None for the config's dataset, an ImageSplits, or your own images: a folder, an image
    list or an .npy/.npz path, `raekit.read_images(...)`, an ndarray (N, H, W[, C]), a tensor
    (N, C, H, W) or a torch Dataset of image tensors (uint8, or floats in [0, 1]). Own images
    replace the config's dataset (`dataset: custom`; the values `config` changed from its preset
    are kept) and are split 80/10/10 by `data_seed`; in-memory images are saved as RUN/data.npy."""
    run_dir = Path(out)
    tracking.parse_backends(track)
    config, data, own = _with_own_images(config, data, run_dir, resume)
    ctx = distributed.setup(config.device)
    lock = contextlib.ExitStack()
    try:
        resume = resume or _restarted(run_dir)
        lock.enter_context(locked_run(run_dir, ctx))  # one writer per run, also across crashes
        prepare_run_dir(run_dir, resume)
        if resume:
            check_resumable(run_dir, config)
        train_x, valid_x = _arrays(config, data)
        torch.manual_seed(config.seed)
        model = build_from_config(config, encoder, decoder).to(ctx.device)
        optimizer, scheduler = _optimiser(config, model)
        state = RunState()
        distributed.barrier(ctx)
        _start_run(run_dir, config, (model, optimizer, scheduler), state, ctx, resume, own)
        distributed.barrier(ctx)
        loop = EpochLoop(
            config=config,
            run_dir=run_dir,
            model=model,
            net=distributed.wrap_for_training(LossModule(model), ctx),
            optimizer=optimizer,
            scheduler=scheduler,
            state=state,
            ctx=ctx,
            stop=None,
            show=progress if ctx.is_main else False,  # None: a bar on a terminal, else lines
            tracker=None,
        )
        _run_epochs(loop, train_x, valid_x, track, experiment)
        if ctx.is_main:
            runs.write_status(run_dir, finished=True, epochs=config.epochs, stopped=state.stopped)
    finally:
        lock.close()
        distributed.teardown(ctx)
    return run_dir


def _with_own_images(config: RunConfig, data, run_dir: Path, resume: bool):
    """(config, data, own): own images replace the config's dataset; own is None without them."""
    if not is_own_data(data):
        return config, data, None
    if resume:
        raise RaekitError("resume reads the run's own data again; do not pass data=")
    own = own_training(config, data, run_dir)
    return own.config, own.splits, own


def _restarted(run_dir: Path) -> bool:
    """torchrun restarts every worker after a failure: continue from the last checkpoint."""
    restarts = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    return restarts != "0" and (run_dir / runs.CONFIG_FILE).exists()


def _arrays(config: RunConfig, data):
    """Training and validation images, with at least one batch of training images."""
    train_x, valid_x = training_arrays(config, data)
    if config.batch_size > len(train_x):
        raise RaekitError(
            f"batch_size {config.batch_size} is larger than the training set ({len(train_x)} images)"
        )
    return train_x, valid_x


def _optimiser(config: RunConfig, model: nn.Module):
    """Adam and the schedule that halves its rate on a validation plateau."""
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer,
        mode="min",
        factor=config.lr_factor,
        patience=config.lr_patience,
        min_lr=config.min_lr,
    )
    return optimizer, scheduler


def _start_run(run_dir: Path, config, trained, state: RunState, ctx, resume: bool, own) -> None:
    """Restore a resumed run's checkpoint, or write a new run's config (rank 0 writes)."""
    model, optimizer, scheduler = trained
    if resume:
        _restore(run_dir, model, optimizer, scheduler, state, ctx.is_main)
        if ctx.is_main:  # e.g. more epochs; written only once the checkpoint has loaded
            runs.write_config(run_dir, config)
    elif ctx.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        if own is not None:
            record_own_data(run_dir, own)
        runs.write_config(run_dir, config)
    if ctx.is_main:
        runs.write_status(run_dir, finished=False, epochs=config.epochs)
        if state.stopped is not None:
            notices.note(
                f"{run_dir} is complete: training stopped early after epoch "
                f"{state.stopped['epoch']} ({state.stopped['rule']}); nothing left to train"
            )


def _run_epochs(loop: EpochLoop, train_x, valid_x, track, experiment: str | None) -> None:
    """The epochs, with signals caught and the tracker open; a run must end with weights."""
    notices.under_way()  # inputs are checked: held notes print before the first epoch
    loop.tracker = tracking.open_tracker(
        track, loop.run_dir, loop.config, experiment=experiment, is_main=loop.ctx.is_main
    )
    try:
        with SignalCatcher() as stop:
            loop.stop = stop
            loop.run(train_x, valid_x)
    finally:
        loop.tracker.finish()
    if loop.state.best_valid is None:
        raise RaekitError(
            f"no epoch of {loop.run_dir} had a finite validation loss, so no weights were saved; "
            f"lower the learning rate or loss weights"
        )


def _restore(run_dir, model, optimizer, scheduler, state: RunState, announce: bool) -> None:
    if not checkpoint.list_checkpoints(run_dir / runs.CHECKPOINTS):
        # Stopped before its first checkpoint: nothing was trained that counts, so start over
        # (same seed, same result) instead of leaving a run that can neither resume nor restart.
        if announce:
            notices.note(f"{run_dir} has no checkpoint yet; training from the start")
        return
    extra = checkpoint.load_checkpoint(run_dir / runs.CHECKPOINTS, model, optimizer, scheduler)
    for key in vars(state):
        if key in extra:
            setattr(state, key, extra[key])
