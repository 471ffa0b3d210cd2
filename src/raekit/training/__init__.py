"""Training: the loop (Adam, plateau schedule, best weights, exact resume), its checkpoints of
progress, data-parallel runs under torchrun, and experiment tracking."""

from raekit.training.loop import evaluate_loss, load_data, train
from raekit.training.utils import TrainingInterrupted

__all__ = ["TrainingInterrupted", "evaluate_loss", "load_data", "train"]
