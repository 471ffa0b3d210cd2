"""The 2-stage VAE's second stage (Dai & Wipf, 2019) as an ex-post density on any model's codes.

Codes are standardised, then an MLP VAE with latent size d and a learned decoder variance gamma
(Dai & Wipf's design) is trained on them. Sampling draws u ~ N(0, I), then z ~ N(D(u), gamma I),
and undoes the standardisation. `score_samples` is an importance-weighted estimate of log p(z)
(Burda et al.'s bound with K samples of the encoder as proposal): a lower bound that tightens
with K, in the units of the original codes (the standardisation's Jacobian is included).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from raekit.density.base import Density
from raekit.errors import RaekitError


def _mlp(d_in: int, hidden: int, d_out: int, layers: int) -> nn.Sequential:
    dims = [d_in] + [hidden] * layers
    blocks = [m for a, b in zip(dims, dims[1:]) for m in (nn.Linear(a, b), nn.ReLU())]
    return nn.Sequential(*blocks, nn.Linear(dims[-1], d_out))


class _StageTwo(nn.Module):
    def __init__(self, d: int, hidden: int, layers: int):
        super().__init__()
        self.encoder, self.decoder = _mlp(d, hidden, 2 * d, layers), _mlp(d, hidden, d, layers)
        self.log_gamma = nn.Parameter(torch.zeros(()))

    def posterior(self, z):
        mu, logvar = self.encoder(z).chunk(2, -1)
        return mu, logvar.clamp(-12, 8)

    def log_likelihood(self, z, u):
        """log N(z; D(u), gamma I), summed over dimensions."""
        d = z.shape[-1]
        return -0.5 * (((z - self.decoder(u)) ** 2).sum(-1) / self.log_gamma.exp()
                       + d * (self.log_gamma + math.log(2 * math.pi)))


class TwoStageDensity(Density):
    kind = "two-stage"

    def __init__(self, hidden: int = 256, layers: int = 3, epochs: int = 60, batch_size: int = 256,
                 lr: float = 1e-3, kl_weight: float = 1.0, importance_samples: int = 64, seed: int = 0):
        self.options = dict(hidden=int(hidden), layers=int(layers), epochs=int(epochs), batch_size=int(batch_size),
                            lr=float(lr), kl_weight=float(kl_weight), importance_samples=int(importance_samples),
                            seed=int(seed))

    def _fit(self, codes):
        o = self.options
        if len(codes) < 2:
            raise RaekitError("the two-stage density needs at least 2 codes")
        self.shift_, self.scale_ = codes.mean(0), codes.std(0) + 1e-8
        torch.manual_seed(o["seed"])
        self.net_ = _StageTwo(codes.shape[1], o["hidden"], o["layers"]).double()
        data = torch.as_tensor((codes - self.shift_) / self.scale_)
        optimizer = torch.optim.Adam(self.net_.parameters(), lr=o["lr"])
        generator = torch.Generator().manual_seed(o["seed"])
        for _ in range(o["epochs"]):
            for idx in torch.randperm(len(data), generator=generator).split(o["batch_size"]):
                loss = self._loss(data[idx])
                if not torch.isfinite(loss):
                    raise RaekitError("the two-stage density's training diverged (non-finite loss); "
                                      "lower its learning rate with lr=...")
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        self.net_.eval()

    def _loss(self, z):
        mu, logvar = self.net_.posterior(z)
        u = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(-1)
        return (-self.net_.log_likelihood(z, u) + self.options["kl_weight"] * kl).mean()

    @torch.no_grad()
    def _sample(self, n, rng):
        # From the model that score_samples evaluates: u ~ N(0, I), z ~ N(D(u), gamma I).
        d = self.n_features_in_
        u = torch.as_tensor(rng.standard_normal((n, d)))
        noise = rng.standard_normal((n, d)) * float(self.net_.log_gamma.exp().sqrt())
        return (self.net_.decoder(u).numpy() + noise) * self.scale_ + self.shift_

    @torch.no_grad()
    def _score(self, codes):
        k = self.options["importance_samples"]
        z = torch.as_tensor((codes - self.shift_) / self.scale_)
        mu, logvar = self.net_.posterior(z)
        std = (0.5 * logvar).exp()
        generator = torch.Generator().manual_seed(self.options["seed"])
        eps = torch.randn((k, *mu.shape), generator=generator, dtype=mu.dtype)
        u = mu + eps * std
        log_q = (-0.5 * eps ** 2 - torch.log(std) - 0.5 * math.log(2 * math.pi)).sum(-1)
        log_prior = (-0.5 * u ** 2 - 0.5 * math.log(2 * math.pi)).sum(-1)
        log_w = self.net_.log_likelihood(z.expand_as(u), u) + log_prior - log_q
        estimate = torch.logsumexp(log_w, 0) - math.log(k)
        return estimate.numpy() - np.log(self.scale_).sum()

    def state(self):
        arrays = {"shift": self.shift_, "scale": self.scale_}
        arrays.update({f"net.{k}": v.numpy() for k, v in self.net_.state_dict().items()})
        return arrays

    def load_state(self, arrays, d: int) -> None:
        o = self.options
        self.n_features_in_, self.shift_, self.scale_ = d, arrays["shift"], arrays["scale"]
        self.net_ = _StageTwo(d, o["hidden"], o["layers"]).double()
        self.net_.load_state_dict({k[4:]: torch.as_tensor(v) for k, v in arrays.items() if k.startswith("net.")})
        self.net_.eval()
