"""Training: the loop (Adam, plateau schedule, best weights, exact resume), its checkpoints of
progress, data-parallel runs under torchrun, and experiment tracking."""

from raekit.training.loop import train
from raekit.training.validation import evaluate_loss

__all__ = ["evaluate_loss", "train"]
