"""GrammarVAE's measures of what a sequence model learned (Kusner et al. 2017, Table 1):
reconstruction accuracy, each held-out item encoded ``encodings`` times (draws of q(z|x), one
code for deterministic encoders) and each code decoded ``decodings`` times by sampled masked
decoding, the share of decodings that give the item back; and prior validity, the share of
valid decodings of ``draws`` codes from the prior (``decodings`` each): N(0, I) for the VAEs,
a GMM fitted to the training codes for models without a prior (GRAE), as raekit samples them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from raekit.density import fit_density
from raekit.errors import RaekitError
from raekit.grammar.task import decode_draws

GRAMMARVAE_COUNTS = {
    "encodings": 10,
    "decodings": 100,
    "prior_draws": 1000,
    "prior_decodings": 500,
}
CHUNK = 200_000  # decodings held in memory at once


def check_counts(counts: dict[str, int]) -> dict[str, int]:
    """GrammarVAE's counts updated with ``counts``; each must be at least 0 (0 skips a measure)."""
    unknown_keys = set(counts) - set(GRAMMARVAE_COUNTS)
    if unknown_keys:
        raise RaekitError(f"unknown measure counts: {', '.join(sorted(unknown_keys))}")
    merged = {**GRAMMARVAE_COUNTS, **{k: v for k, v in counts.items() if v is not None}}
    for name, value in merged.items():
        if value < 0:
            raise RaekitError(f"--{name.replace('_', '-')} must be at least 0, got {value}")
    return merged


def _decoded(model, codes: np.ndarray, decodings: int, seed: int):
    """Yield (rows of ``codes``, their ``decodings`` sampled strings) in memory-sized chunks."""
    per_chunk = max(1, CHUNK // max(1, decodings))
    for start in range(0, len(codes), per_chunk):
        rows = slice(start, start + per_chunk)
        yield rows, decode_draws(model, codes[rows], decodings, seed=seed + start)


@torch.no_grad()
def reconstruction_accuracy(
    model, indices: np.ndarray, truth: list[str], encodings: int, decodings: int, seed: int = 0
) -> float:
    """Share of (item, encoding, decoding) triples that give the item back exactly."""
    model.eval()
    x = torch.as_tensor(np.asarray(indices))
    mu, logvar = model.posterior(x)
    generator = torch.Generator().manual_seed(seed)
    hits = 0
    for e in range(encodings):
        noise = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
        z = mu + noise * model.noise_std * model.posterior_std(logvar)
        for rows, strings in _decoded(model, z.numpy(), decodings, seed * 7919 + e * 104_729):
            hits += sum(s == t for ds, t in zip(strings, truth[rows]) for s in ds)
    return hits / (len(truth) * encodings * decodings)


def prior_codes(
    model, train_codes: np.ndarray, draws: int, seed: int = 0
) -> tuple[np.ndarray, str]:
    """``draws`` codes from the model's prior, and which prior it is."""
    if model.variant.encoder == "gaussian":
        rng = np.random.default_rng(seed)
        return rng.standard_normal((draws, train_codes.shape[1])).astype(np.float32), "N(0, I)"

    gmm, _ = fit_density(train_codes, "gmm")
    return np.asarray(gmm.sample(draws, seed=seed), dtype=np.float32), "GMM on training codes"


def prior_validity(
    model, codes: np.ndarray, decodings: int, valid: Callable[[str], bool], seed: int = 0
) -> float:
    """Share of valid strings among ``decodings`` sampled decodings of each code."""
    verdict: dict[str, bool] = {}
    good = total = 0
    for _, strings in _decoded(model, codes, decodings, seed):
        for ds in strings:
            for s in ds:
                if s not in verdict:
                    verdict[s] = bool(s) and bool(valid(s))
                good += verdict[s]
            total += len(ds)
    return good / total if total else float("nan")


def grammarvae_measures(model, data, train_codes, valid, counts: dict, n: int, seed: int = 0):
    """Both measures on ``n`` test items of ``data`` (`load_sequences`'s), as check.json keeps
    them; a measure with a count of 0 is None."""
    out = {"counts": dict(counts), "items": min(n, len(data.test)), "reconstruction": None}
    if counts["encodings"] and counts["decodings"]:
        truth = np.array(data.strings["test"][:n], dtype=object)
        accuracy = reconstruction_accuracy(
            model, data.test[:n], truth, counts["encodings"], counts["decodings"], seed
        )
        out["reconstruction"] = {"accuracy": accuracy}
    out["prior_validity"] = None
    if counts["prior_draws"] and counts["prior_decodings"]:
        codes, prior = prior_codes(model, train_codes, counts["prior_draws"], seed)
        fraction = prior_validity(model, codes, counts["prior_decodings"], valid, seed)
        out["prior_validity"] = {"fraction": fraction, "prior": prior}
    return out
