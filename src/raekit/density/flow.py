"""A masked autoregressive flow on the codes (zuko's MAF), trained by maximum likelihood with
early stopping on the validation codes."""

from __future__ import annotations

import numpy as np
import torch
import zuko

from raekit.density.base import Density, as_codes, torch_threads
from raekit.errors import RaekitError
from raekit.io.progress import progress


class FlowDensity(Density):
    kind = "flow"
    fits_on_validation = True  # stops at the epoch of best validation likelihood

    def __init__(
        self,
        transforms: int = 3,
        hidden: int = 128,
        epochs: int = 100,
        batch_size: int = 256,
        lr: float = 1e-3,
        patience: int = 10,
        seed: int = 0,
    ):
        self.options = dict(
            transforms=int(transforms),
            hidden=int(hidden),
            epochs=int(epochs),
            batch_size=int(batch_size),
            lr=float(lr),
            patience=int(patience),
            seed=int(seed),
        )
        self._valid = None

    def fit(self, codes, valid_codes=None) -> FlowDensity:
        self._valid = None if valid_codes is None else as_codes(valid_codes)
        return super().fit(codes)

    def _build(self, d: int):
        torch.manual_seed(self.options["seed"])
        o = self.options
        return zuko.flows.MAF(
            d, transforms=o["transforms"], hidden_features=(o["hidden"], o["hidden"])
        ).double()

    def _fit(self, codes):
        with torch_threads(1):  # a small MLP on small batches: latency-bound, see torch_threads
            self._train(codes)

    def _train(self, codes):
        o = self.options
        if len(codes) < 10:
            raise RaekitError(f"the flow density needs at least 10 codes, got {len(codes)}")
        valid = self._valid
        if valid is None:  # hold out 10% for early stopping
            order = np.random.default_rng(o["seed"]).permutation(len(codes))
            valid, codes = codes[order[: len(codes) // 10]], codes[order[len(codes) // 10 :]]
        self.shift_, self.scale_ = codes.mean(0), codes.std(0) + 1e-8
        self.flow_ = self._build(codes.shape[1])
        train = torch.as_tensor((codes - self.shift_) / self.scale_)
        held = torch.as_tensor((valid - self.shift_) / self.scale_)
        optimizer = torch.optim.Adam(self.flow_.parameters(), lr=o["lr"])
        generator = torch.Generator().manual_seed(o["seed"])
        best, best_state, waited = -np.inf, None, 0
        with progress(range(o["epochs"]), desc="flow density", unit="epoch") as bar:
            for _ in bar:
                for idx in torch.randperm(len(train), generator=generator).split(o["batch_size"]):
                    loss = -self.flow_().log_prob(train[idx]).mean()
                    if not torch.isfinite(loss):
                        break  # diverged: keep the last good state below
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                with torch.no_grad():
                    score = float(self.flow_().log_prob(held).mean())
                if np.isfinite(score) and score > best:
                    best, waited = score, 0
                    best_state = {k: v.clone() for k, v in self.flow_.state_dict().items()}
                else:
                    waited += 1
                    if waited >= o["patience"] or not np.isfinite(score):
                        break
                bar.set_postfix(valid_loglik=f"{score:.3f}", refresh=False)
        if best_state is None:
            raise RaekitError("the flow diverged before its first validation check; lower lr=...")
        self.flow_.load_state_dict(best_state)

    @torch.no_grad()
    def _sample(self, n, rng):
        torch.manual_seed(int(rng.integers(2**31)))
        return self.flow_().sample((n,)).numpy() * self.scale_ + self.shift_

    @torch.no_grad()
    def _score(self, codes):
        z = torch.as_tensor((codes - self.shift_) / self.scale_)
        return self.flow_().log_prob(z).numpy() - np.log(self.scale_).sum()

    def state(self):
        arrays = {"shift": self.shift_, "scale": self.scale_}
        arrays.update({f"flow.{k}": v.numpy() for k, v in self.flow_.state_dict().items()})
        return arrays

    def load_state(self, arrays, d: int) -> None:
        self.n_features_in_, self.shift_, self.scale_ = d, arrays["shift"], arrays["scale"]
        self.flow_ = self._build(d)
        self.flow_.load_state_dict(
            {k[5:]: torch.as_tensor(v) for k, v in arrays.items() if k.startswith("flow.")}
        )
