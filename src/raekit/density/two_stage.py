"""The 2-stage VAE's second stage (Dai & Wipf, 2019) as an ex-post density on any model's codes.

Codes are standardised (per-dimension mean / std), then an MLP VAE with latent size d is trained
on them with Adam. The official code's second-stage loss is
    mean_j (z_j - D(u)_j)^2 + w * KL(q(u|z) || N(0, I))        (w: 1.5e-3 MNIST, 1e-3 CIFAR, 2e-3 CelebA)
Dividing by w shows it is the negative ELBO of a Gaussian decoder N(z; D(u), sigma^2 I) with
    sigma^2 = d * w / 2,
which is the unit conversion used here: `kl_weight` is given in the official units and fixes the
decoder variance, so the trained model is a proper density p(z) = E_{u ~ N(0, I)} N(z; D(u), sigma^2 I).

sample: u ~ N(0, I), z = D(u) + sigma * eps (eps omitted with sample_noise=False, as the official
code does), then undo the standardisation. reconstruct: z -> u ~ q(u|z) -> D(u), as the official
predict_2stage does.

schedule "cosine" decays the learning rate to zero over the epochs; "plateau" is the official
fit (my_utility/estimate_density_and_sample.py): the last 10% of the codes are held out (Keras
validation_split) and the rate halves after 3 epochs without a 1e-4 gain on them.
score_samples: the importance-weighted estimate (Burda et al., 2016) of log p(z) with K draws from
the encoder q(u|z): log (1/K) sum_k N(z; D(u_k), sigma^2 I) N(u_k; 0, I) / q(u_k | z). It is
unbiased for p(z) itself, a lower bound on log p(z) in expectation, and converges to log p(z) as K
grows; the standardisation's Jacobian (-sum_j log std_j) puts it in the units of the original codes.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from raekit.config.dataset_specs import DATASET_SPECS
from raekit.density.base import Density, torch_threads
from raekit.errors import RaekitError, unknown
from raekit.io.progress import progress

# The official code's second-stage KL weights (configurations/config.py); MNIST-like datasets share MNIST's.
OFFICIAL_KL_WEIGHTS = {
    name: spec.two_stage_kl_weight
    for name, spec in DATASET_SPECS.items()
    if spec.two_stage_kl_weight is not None
}
SCHEDULES = ("cosine", "plateau")
HELD_OUT = 0.1  # the "plateau" fit's validation fraction (Keras validation_split: the last 10%)


def _mlp(d_in: int, hidden: int, d_out: int, layers: int) -> nn.Sequential:
    dims = [d_in] + [hidden] * layers
    blocks = [m for a, b in zip(dims, dims[1:]) for m in (nn.Linear(a, b), nn.ReLU())]
    return nn.Sequential(*blocks, nn.Linear(dims[-1], d_out))


class _StageTwo(nn.Module):
    """Encoder z -> (mu, log sigma), log sigma = 5 tanh(.) as in the official code; decoder u -> mean."""

    def __init__(self, d: int, hidden: int, layers: int):
        super().__init__()
        self.encoder, self.decoder = _mlp(d, hidden, 2 * d, layers), _mlp(d, hidden, d, layers)

    def posterior(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, raw = self.encoder(z).chunk(2, -1)
        return mu, 5 * torch.tanh(raw)


def _log_normal(x: torch.Tensor, mean, log_std) -> torch.Tensor:
    """log N(x; mean, exp(log_std)^2), summed over the last dimension."""
    return (
        -0.5 * ((x - mean) / torch.exp(log_std)) ** 2 - log_std - 0.5 * math.log(2 * math.pi)
    ).sum(-1)


class TwoStageDensity(Density):
    """Paper size (Dai & Wipf): hidden=1024, layers=3; the defaults are scaled down for CPU.
    `threads`: torch threads while training (1 suits the default small MLP; None keeps torch's)."""

    kind = "two-stage"

    def __init__(
        self,
        dataset: str = "mnist",
        kl_weight: float | None = None,
        hidden: int = 256,
        layers: int = 3,
        epochs: int = 30,
        batch_size: int = 128,
        lr: float = 1e-3,
        importance_samples: int = 256,
        sample_noise: bool = True,
        threads: int | None = 1,
        seed: int = 0,
        schedule: str = "cosine",
    ):
        if kl_weight is None and dataset not in OFFICIAL_KL_WEIGHTS:
            raise unknown("dataset for the two-stage KL weight", dataset, OFFICIAL_KL_WEIGHTS)
        weight = OFFICIAL_KL_WEIGHTS[dataset] if kl_weight is None else float(kl_weight)
        if not weight > 0:
            raise RaekitError(f"the two-stage kl_weight must be positive, got {kl_weight}")
        for name, value in (
            ("hidden", hidden),
            ("layers", layers),
            ("epochs", epochs),
            ("batch_size", batch_size),
            ("importance_samples", importance_samples),
        ):
            if int(value) < 1:
                raise RaekitError(f"the two-stage {name} must be at least 1, got {value}")
        if schedule not in SCHEDULES:
            raise unknown("two-stage schedule", schedule, SCHEDULES)
        self.options = dict(
            dataset=dataset,
            kl_weight=weight,
            hidden=int(hidden),
            layers=int(layers),
            epochs=int(epochs),
            batch_size=int(batch_size),
            lr=float(lr),
            importance_samples=int(importance_samples),
            sample_noise=bool(sample_noise),
            threads=threads,
            seed=int(seed),
            schedule=schedule,
        )

    def _log_sigma(self) -> float:
        """log of the decoder's standard deviation: sigma^2 = d * kl_weight / 2 (see the module docstring)."""
        return 0.5 * math.log(self.n_features_in_ * self.options["kl_weight"] / 2)

    def _fit(self, codes):
        o = self.options
        if len(codes) < 2:
            raise RaekitError(f"the two-stage density needs at least 2 codes, got {len(codes)}")
        self.shift_, self.scale_ = codes.mean(0), codes.std(0)
        if not (self.scale_ > 0).all():
            raise RaekitError(
                f"codes are constant in {int((self.scale_ <= 0).sum())} dimensions; "
                "the two-stage density needs every dimension to vary"
            )
        torch.manual_seed(o["seed"])
        self.net_ = _StageTwo(codes.shape[1], o["hidden"], o["layers"])
        data = torch.as_tensor((codes - self.shift_) / self.scale_, dtype=torch.float32)
        with torch_threads(o["threads"]):
            self._train(data)
        self.net_.eval()

    def _train(self, data: torch.Tensor) -> None:
        o = self.options
        plateau = o["schedule"] == "plateau"
        held = int(len(data) * HELD_OUT) if plateau else 0
        data, valid = data[: len(data) - held], data[len(data) - held :]
        optimizer = torch.optim.Adam(self.net_.parameters(), lr=o["lr"])
        if plateau:
            schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, factor=0.5, patience=3, threshold=1e-4, threshold_mode="abs"
            )
        else:
            steps = o["epochs"] * math.ceil(len(data) / o["batch_size"])
            schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
        generator = torch.Generator().manual_seed(o["seed"])
        self.lr_history_ = []  # each epoch's starting learning rate
        for _ in progress(range(o["epochs"]), desc="two-stage density", unit="epoch"):
            self.lr_history_.append(optimizer.param_groups[0]["lr"])
            for idx in torch.randperm(len(data), generator=generator).split(o["batch_size"]):
                loss = self._loss(data[idx], generator)
                if not torch.isfinite(loss):
                    raise RaekitError(
                        "the two-stage density's training diverged (non-finite loss); lower lr=..."
                    )
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if not plateau:
                    schedule.step()
            if plateau:
                with torch.no_grad():
                    schedule.step(float(self._loss(valid if held else data, generator)))

    def _loss(self, z, generator):
        """Negative ELBO per code, up to a constant: sum_j (z_j - D(u)_j)^2 / (2 sigma^2) + KL."""
        mu, log_std = self.net_.posterior(z)
        u = mu + torch.randn(mu.shape, generator=generator) * torch.exp(log_std)
        recon = (z - self.net_.decoder(u)).square().sum(-1) / (2 * math.exp(2 * self._log_sigma()))
        kl = 0.5 * (mu.square() + torch.exp(2 * log_std) - 1 - 2 * log_std).sum(-1)
        return (recon + kl).mean()

    @torch.no_grad()
    def _sample(self, n, rng):
        d = self.n_features_in_
        u = torch.as_tensor(rng.standard_normal((n, d)), dtype=torch.float32)
        z = self.net_.decoder(u).double().numpy()
        if self.options["sample_noise"]:
            z = z + rng.standard_normal((n, d)) * math.exp(self._log_sigma())
        return z * self.scale_ + self.shift_

    @torch.no_grad()
    def reconstruct(self, codes, seed: int = 0) -> np.ndarray:
        """Codes through the second stage: u ~ q(u | z), then the decoder's mean (official predict_2stage)."""
        self._check_fitted()
        generator = torch.Generator().manual_seed(seed)
        z = torch.as_tensor(
            (np.asarray(codes, np.float64) - self.shift_) / self.scale_, dtype=torch.float32
        )
        mu, log_std = self.net_.posterior(z)
        u = mu + torch.randn(mu.shape, generator=generator) * torch.exp(log_std)
        return self.net_.decoder(u).double().numpy() * self.scale_ + self.shift_

    def _score(self, codes):
        with torch_threads(self.options["threads"]), torch.no_grad():
            return self._importance_estimate(codes)

    def _importance_estimate(self, codes):
        k, d = self.options["importance_samples"], codes.shape[1]
        generator = torch.Generator().manual_seed(self.options["seed"])
        z_all = torch.as_tensor((codes - self.shift_) / self.scale_, dtype=torch.float32)
        out = []
        for z in z_all.split(max(1, (1 << 22) // (k * d))):
            mu, log_std = self.net_.posterior(z)
            u = mu + torch.randn((k, *mu.shape), generator=generator) * torch.exp(log_std)
            u64, log_sigma = u.double(), torch.tensor(self._log_sigma(), dtype=torch.float64)
            log_w = (
                _log_normal(z.double(), self.net_.decoder(u).double(), log_sigma)  # log p(z | u)
                + _log_normal(u64, 0.0, torch.zeros((), dtype=torch.float64))  # log p(u)
                - _log_normal(u64, mu.double(), log_std.double())
            )  # log q(u | z)
            out.append(torch.logsumexp(log_w, 0) - math.log(k))
        return torch.cat(out).numpy() - np.log(self.scale_).sum()

    def state(self):
        arrays = {"shift": self.shift_, "scale": self.scale_}
        arrays.update({f"net.{k}": v.numpy() for k, v in self.net_.state_dict().items()})
        return arrays

    def load_state(self, arrays, d: int) -> None:
        o = self.options
        self.n_features_in_, self.shift_, self.scale_ = d, arrays["shift"], arrays["scale"]
        self.net_ = _StageTwo(d, o["hidden"], o["layers"])
        self.net_.load_state_dict(
            {k[4:]: torch.as_tensor(v) for k, v in arrays.items() if k.startswith("net.")}
        )
        self.net_.eval()
