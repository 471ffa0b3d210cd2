"""The validation loss: every loss term averaged over a split, in eval mode, with seeded noise
that leaves the training RNG untouched; shared across ranks under torchrun."""

from __future__ import annotations

import torch
from torch import nn

from raekit import distributed
from raekit.training.utils import to_input


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
