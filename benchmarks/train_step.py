"""Seconds per training step of every raekit model next to a minimal hand-written PyTorch loop.

The minimal loop uses the same network, batch and Adam optimiser, with each loss written out
inline, so the ratio is raekit's own overhead (variant dispatch, term bookkeeping).
Usage: python benchmarks/train_step.py [--presets cpu,paper] [--steps 5] [--models ...]
"""

from __future__ import annotations

import argparse
import time

import torch

from raekit.config import make_config
from raekit.models import IMAGE_MODELS
from raekit.models.build import build_from_config


def minimal_loss(model, x: torch.Tensor) -> torch.Tensor:
    """The RAE-family objectives written out by hand (AE, RAE, RAE-L2, RAE-GP, RAE-SN, VAE)."""
    name = model.variant.name
    h = model.encoder(x)
    if name in ("vae", "2svae"):
        mu, raw = h.chunk(2, 1)
        logvar = 10.0 * torch.tanh(raw / 5.0)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        out = model.decoder(z)
        kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1).mean()
        return ((out - x) ** 2).sum((1, 2, 3)).mean() + model.beta * kl
    z = h
    out = model.decoder(z)
    loss = ((out - x) ** 2).sum((1, 2, 3)).mean()
    if name == "ae":
        return loss
    loss = loss + model.beta * 0.5 * (z**2).sum(1).mean()
    if name == "rae-l2":
        loss = loss + model.lam * sum(
            (m.weight**2).sum()
            for m in model.decoder.modules()
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d))
        )
    if name == "rae-gp":
        (g,) = torch.autograd.grad(out, z, torch.randn_like(out), create_graph=True)
        loss = loss + model.lam * (g**2).sum(1).mean()
    return loss


def stepper(model, step_loss, x):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()

    def one() -> float:
        begin = time.perf_counter()
        loss = step_loss(x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return time.perf_counter() - begin

    one()  # warm-up
    return one


def interleaved_best(steppers, steps: int) -> list[float]:
    """Best time of each stepper, measured alternately so machine noise hits all alike."""
    best = [float("inf")] * len(steppers)
    for _ in range(steps):
        for i, one in enumerate(steppers):
            best[i] = min(best[i], one())
    return best


def raekit_step(model):
    def step(x):
        terms = model.loss(x)
        loss = terms["loss"]
        if not torch.isfinite(loss):  # the trainer's check, kept in the measurement
            raise RuntimeError("non-finite")
        for value in terms.values():
            float(value.detach())
        return loss

    return step


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--presets", default="cpu,paper")
    parser.add_argument("--models", default=",".join(IMAGE_MODELS))
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--dataset", default="mnist")
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch 100, best of {args.steps} steps"
    )
    print(f"{'preset':6s} {'model':7s} {'raekit s':>9s} {'minimal s':>9s} {'ratio':>6s}")
    for preset in args.presets.split(","):
        results = {}
        for name in args.models.split(","):
            config = make_config(args.dataset, name, preset)
            x = torch.rand(config.batch_size, *config.image_shape)
            torch.manual_seed(0)
            model = build_from_config(config)
            steppers = [stepper(model, raekit_step(model), x)]
            if name not in ("cv-vae", "wae"):
                reference = build_from_config(config)
                steppers.append(
                    stepper(reference, lambda batch, m=reference: minimal_loss(m, batch), x)
                )
            ours, minimal = (interleaved_best(steppers, args.steps) + [None])[:2]
            results[name] = ours
            ratio = f"{ours / minimal:6.3f}" if minimal else "     -"
            shown = f"{minimal:9.4f}" if minimal else "        -"
            print(f"{preset:6s} {name:7s} {ours:9.4f} {shown} {ratio}", flush=True)
        if "rae-gp" in results and "rae" in results:
            print(f"{preset:6s} RAE-GP / RAE step time: {results['rae-gp'] / results['rae']:.2f}x")


if __name__ == "__main__":
    main()
