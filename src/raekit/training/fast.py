"""The `engine` setting: how a training step runs on a CPU.

`fast` (the default) compiles the loss of image models with torch.compile (inductor, static
shapes) for full training batches on a CPU; the compiled graph fuses the batch-norm, activation and
loss arithmetic around the convolutions and draws its noise from torch's own generator, so the
steps equal the eager ones up to float rounding. Everything else runs eagerly: validation, a last
partial batch, runs on a GPU or over several ranks, sequence models, runs too short to repay the
compile (under `MIN_STEPS` optimiser steps), and the decoder of RAE-GP, whose double backward
torch.compile cannot differentiate (only its encoder is compiled). If compiling fails (no C++
compiler, an unsupported torch), the run says so once and goes on eagerly.

`eager` runs every step in plain eager fp32, as PyTorch alone would.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from raekit import notices

ENGINES = ("fast", "eager")
# Optimiser steps below which compiling (tens of seconds) costs more than it saves.
MIN_STEPS = 1000
# Inductor options: noise from torch's generator, as in eager mode (same seed, same draws).
_OPTIONS = {"fallback_random": True}


def uses_compile(config, ctx, steps: int) -> bool:
    """Whether a run with `steps` optimiser steps left compiles its training steps."""
    return (
        config.engine == "fast"
        and config.image_shape is not None
        and not ctx.distributed
        and ctx.device.type == "cpu"
        and steps >= MIN_STEPS
    )


def compiled(fn):
    """`fn` under torch.compile with raekit's settings (static shapes, eager noise)."""
    return torch.compile(fn, dynamic=False, options=_OPTIONS)


class FastLoss:
    """Calls `loss_module(x)` (a module whose forward is the model's loss terms) through a
    compiled graph for full batches in training mode, eagerly otherwise.

    `model` is the autoencoder inside `loss_module`. With a gradient-penalty decoder only the
    encoder is compiled, since the penalty's double backward needs an eager decoder.
    """

    def __init__(self, loss_module: nn.Module, model: nn.Module, batch_size: int):
        self.module, self.model, self.batch_size = loss_module, model, batch_size
        self.encoder_only = model.variant.decoder_term == "gp"
        self._encoder = compiled(model.encoder.forward) if self.encoder_only else None
        self._loss = None if self.encoder_only else compiled(loss_module)
        self._tried = False
        self.failed = False

    def __call__(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.failed or len(x) != self.batch_size or not self.model.training:
            return self.module(x)
        if self._tried:
            return self._run(x)
        self._tried = True
        try:
            return self._run(x)
        except Exception as error:  # compile-time failures only: later calls are not guarded
            self.failed = True
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            notices.note(
                f"engine fast: torch.compile failed ({first[:160]}); training eagerly "
                f"(--set engine=eager skips the attempt)"
            )
            return self.module(x)

    def _run(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if not self.encoder_only:
            return self._loss(x)
        with _forward_replaced(self.model.encoder, self._encoder):
            return self.module(x)


@contextlib.contextmanager
def _forward_replaced(module: nn.Module, forward):
    """`module` calls `forward` inside the block (an instance attribute, so weights, state-dict
    keys and the class are untouched)."""
    module.forward = forward
    try:
        yield
    finally:
        del module.forward


def training_net(loss_module: nn.Module, model: nn.Module, config, ctx, steps: int):
    """What a run's steps call: `loss_module` itself, or a FastLoss around it."""
    if not uses_compile(config, ctx, steps):
        return loss_module
    return FastLoss(loss_module, model, config.batch_size)
