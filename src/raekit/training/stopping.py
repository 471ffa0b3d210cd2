"""When training stops before its last epoch, and which epochs are kept for learning curves.

The rule (config keys `stop_patience` and `stop_after_cuts`): the plateau schedule cuts the
learning rate (by `lr_factor` after `lr_patience` epochs without gain); once it has been cut
`stop_after_cuts` times, training stops after `stop_patience` epochs in a row that bring no new
best validation loss. Epochs are counted from the later of the best epoch and the epoch whose end
made the last required cut, so the epochs before that cut never count. A gain is the one that
saves the best weights: a finite validation loss below every earlier one. With
`stop_patience: none` (the default) a run always trains its `epochs`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch

KEPT_DIR = "kept"  # RUN/kept/epoch-0008.safetensors (+ .json): best weights as of epoch 8


def rule_text(patience: int | None, after_cuts: int) -> str | None:
    """The rule in words (recorded with a stop), or None when early stopping is off."""
    if patience is None:
        return None
    cuts = (
        f"after {after_cuts} learning-rate cut{'s' if after_cuts != 1 else ''}, "
        if after_cuts
        else ""
    )
    epochs = "1 epoch" if patience == 1 else f"{patience} epochs"
    return f"{cuts}{epochs} without a new best validation loss"


def should_stop(
    epoch: int, best_epoch: int, cut_epochs: Sequence[int], patience: int | None, after_cuts: int
) -> bool:
    """Whether training stops at the end of `epoch` (1-based).

    `best_epoch`: the epoch of the best validation loss so far (0: none finite yet);
    `cut_epochs`: the epochs at whose end the learning rate was cut, in order."""
    if patience is None or len(cut_epochs) < after_cuts:
        return False
    since = max(best_epoch, cut_epochs[after_cuts - 1] if after_cuts else 0)
    return epoch - since >= patience


def replay(
    valid_losses: Sequence[float],
    patience: int | None,
    after_cuts: int,
    lr_patience: int = 5,
    lr_factor: float = 0.5,
) -> tuple[int | None, list[int]]:
    """The epoch at which a run with these validation losses stops (None: it never does) and
    the epochs whose end cut the learning rate, with the training loop's own scheduler and
    bookkeeping. For checking the rule and for planning (how many epochs a loss curve needs)."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=1.0)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=lr_factor, patience=lr_patience
    )
    best, best_epoch, cuts = None, 0, []
    for epoch, loss in enumerate(valid_losses, start=1):
        before = optimizer.param_groups[0]["lr"]
        scheduler.step(loss)
        if optimizer.param_groups[0]["lr"] < before:
            cuts.append(epoch)
        if math.isfinite(loss) and (best is None or loss < best):
            best, best_epoch = loss, epoch
        if should_stop(epoch, best_epoch, cuts, patience, after_cuts):
            return epoch, cuts
    return None, cuts


def kept_epochs(text: str) -> list[int]:
    """The `keep_epochs` value as sorted epochs ("8, 25,50" -> [8, 25, 50])."""
    return sorted({int(part) for part in text.split(",") if part.strip()})


def kept_weights(run_dir: str | Path, epoch: int) -> Path:
    """Where a run keeps its best weights as of the end of `epoch` (see `keep_epochs`)."""
    return Path(run_dir) / KEPT_DIR / f"epoch-{epoch:04d}.safetensors"
