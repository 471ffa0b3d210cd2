"""Small pieces of the training loop: signals, ordering, seeds, run-directory checks."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import signal
import threading
from pathlib import Path

import torch

from raekit import distributed, runs
from raekit.config import RunConfig
from raekit.errors import EXIT_CODES, RaekitError
from raekit.io.progress import progress
from raekit.runs import checkpoint, locks
from raekit.runs.state_codec import decode

# Values a resumed run may change without invalidating its checkpoints.
RESUMABLE = {
    "epochs",
    "device",
    "engine",
    "skip_nonfinite",
    "keep_checkpoints",
    "keep_epochs",
    "data_root",
    "data",
}


class SignalCatcher:
    """Turn SIGINT/SIGTERM into a flag the loop checks after each step (main thread only)."""

    def __enter__(self):
        self.signum, self._old = None, {}
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


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffled order of an epoch: DistributedSampler's permutation (generator seeded with
    seed + epoch), a pure function of (seed, epoch), so resume is exact."""
    generator = torch.Generator().manual_seed(seed + epoch)
    return torch.randperm(n, generator=generator)


def step_seed(seed: int, epoch: int, batch: int, rank: int) -> int:
    """The noise seed of one step (VAE sampling, GP projections, WAE prior draws)."""
    return (seed * 1_000_003 + epoch * 100_003 + batch * 101 + rank * 7919 + 1) % (2**63)


def to_input(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 images -> floats in [0, 1] of the default dtype; integer sequences stay integers."""
    batch = batch.to(device, non_blocking=True)
    return batch.to(torch.get_default_dtype()).div_(255.0) if batch.dtype == torch.uint8 else batch


def prepare_run_dir(run_dir: Path, resume: bool) -> None:
    """Refuse to overwrite a run, or to resume one that does not exist."""
    has_run = (run_dir / runs.CONFIG_FILE).exists()
    if resume and not has_run:
        raise RaekitError(f"nothing to resume: {run_dir} has no {runs.CONFIG_FILE}")
    if not resume and has_run:
        raise RaekitError(
            f"{run_dir} already holds a run; resume it with --resume or choose another --out"
        )
    if (
        not resume
        and run_dir.exists()
        and any(p.name != locks.LOCK_FILE for p in run_dir.iterdir())
    ):
        raise RaekitError(f"{run_dir} exists and is not empty; choose a new --out")


@contextlib.contextmanager
def locked_run(run_dir: Path, ctx: distributed.Context):
    """Hold the run directory's lock (rank 0 takes it; every rank learns whether it could)."""
    with contextlib.ExitStack() as stack:
        failure = None
        try:
            stack.enter_context(locks.hold(run_dir, "run"))
        except RaekitError as exc:
            failure = exc
        if distributed.any_rank(ctx, failure is not None):
            raise failure or RaekitError(f"rank 0 could not lock {run_dir}")
        yield


def check_resumable(run_dir: Path, config: RunConfig) -> None:
    """Refuse a resume that would retrain a trained run from scratch, or continue a checkpoint
    under a config.yaml that contradicts it (edited by hand). Reads only, before any data loads."""
    refuse_shrinking(run_dir, config)
    directory = run_dir / runs.CHECKPOINTS
    newest = checkpoint.latest_checkpoint(directory)
    if newest is None:
        trained = [
            name for name in (runs.WEIGHTS_FILE, runs.METRICS_FILE) if (run_dir / name).exists()
        ]
        if trained and not checkpoint.list_checkpoints(directory):  # damaged ones: loading says why
            raise RaekitError(
                f"{run_dir} holds a trained run ({', '.join(trained)}) but no checkpoint to resume "
                f"from, so it was left as it is: its weights still serve evaluate and sample; "
                f"to train again, use a new --out"
            )
        return
    try:
        saved = decode(json.loads(newest.read_text(encoding="utf-8"))["extra"].get("config"), {})
    except (OSError, ValueError, KeyError, AttributeError):
        saved = None
    if not isinstance(saved, dict):  # checkpoints from before configs were recorded in them
        return
    current = dataclasses.asdict(config)
    changed = [
        f"{key} is {current[key]!r} in {runs.CONFIG_FILE} but {saved[key]!r} in the checkpoint"
        for key in current
        if key in saved and key not in RESUMABLE and saved[key] != current[key]
    ]
    if changed:
        raise RaekitError(
            f"{run_dir / runs.CONFIG_FILE} contradicts the run's checkpoint {newest.name}: "
            f"{'; '.join(changed)}. Restore it (only {', '.join(sorted(RESUMABLE))} may change "
            f"on resume), or train a new run with a new --out"
        )


def run_identity(config: RunConfig) -> str:
    """SHA-256 of the settings a run keeps for life (all but RESUMABLE): saved with its weights,
    so a weights file swapped in from another run is told apart from the run's own newer save."""
    kept = {k: v for k, v in dataclasses.asdict(config).items() if k not in RESUMABLE}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()


def refuse_shrinking(run_dir: Path, config: RunConfig) -> None:
    """Resuming only extends a run: fewer epochs than it has (or has trained) would leave a run
    whose config.yaml says one length while its weights and metrics.csv hold another."""
    recorded = runs.read_config(run_dir).epochs
    rows = runs.read_metrics(run_dir)
    trained = int(rows[-1].get("epoch", 0)) if rows else 0
    if config.epochs < max(recorded, trained):
        raise RaekitError(
            f"--epochs {config.epochs} would shrink {run_dir} (a {recorded}-epoch run, {trained} "
            f"trained); resuming only extends a run: give --epochs {max(recorded, trained)} or "
            f"more, or train a new run into a new --out"
        )


def progress_bar(iterable, enabled: bool | None, epoch: int, epochs: int):

    return progress(iterable, desc=f"epoch {epoch + 1}/{epochs}", unit="batch", enabled=enabled)
