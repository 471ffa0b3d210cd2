"""How RAE-GP's two penalties compare: the official form against the full squared Jacobian norm.

On an MNIST decoder (the paper's net at 1/8 width by default, freshly initialised with the
seed), for codes z ~ N(0, I), it prints per-sample batch means of
  official:   ||d/dz sum_pixels D(z)^2||^2        (raekit's gp_estimator=official, behind Table 1)
  projection: E_v ||J^T v||^2 = ||dD/dz||_F^2     (gp_estimator=projection, averaged over many v)
and their ratio, in train mode (batch-norm batch statistics) and eval mode (running statistics).
No single factor turns one into the other, which is why the projection estimator's lambda is not
a conversion of the official one.
Usage: python benchmarks/gp_ratio.py [--width 0.125] [--batch 100] [--projections 200] [--seed 0]
"""

from __future__ import annotations

import argparse

import torch

import raekit
from raekit.models.losses import decoder_jacobian_penalty, output_gradient_penalty


def penalties(decoder, z: torch.Tensor, projections: int) -> tuple[float, float, float]:
    """(official, projection mean, projection standard error) on codes z."""
    z = z.detach().requires_grad_(True)
    x_hat = decoder(z)
    official = float(output_gradient_penalty(x_hat, z).detach())
    draws = torch.stack(
        [decoder_jacobian_penalty(x_hat, z, 1).detach() for _ in range(projections)]
    )
    return official, float(draws.mean()), float(draws.std() / projections**0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=float, default=0.125)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--projections", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = raekit.build_model("rae-gp", "mnist", "cpu", width=args.width, seed=args.seed)
    z = torch.randn(
        args.batch, model.latent_dim, generator=torch.Generator().manual_seed(args.seed)
    )
    torch.manual_seed(args.seed)
    print(
        f"MNIST decoder, width {args.width}, batch {args.batch}, {args.projections} projections, seed {args.seed}"
    )
    for mode in ("train", "eval"):
        model.decoder.train(mode == "train")
        official, projection, error = penalties(model.decoder, z, args.projections)
        print(
            f"{mode:5s}  official {official:.4g}  projection {projection:.4g} (+- {error:.2g})  "
            f"official / projection = {official / projection:.3g}"
        )


if __name__ == "__main__":
    main()
