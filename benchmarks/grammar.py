"""Molecules parsed to one-hot per second: raekit vs a plain nltk ChartParser loop; BO's
decode-and-vote rate, batched vs a loop over draws; where molecule training spends
its time.

Parsing baseline: what GrammarVAE does (tokenise, nltk ChartParser, the first tree's
productions, one-hot rows, one molecule at a time), on the same MOSES molecules. Decoding: BO
decodes each of `--points` codes `--draws` times through the paper's molecule decoder (GRU 501);
the baseline loop runs the decoder and a masked decoding per draw (timed on `--old-draws` draws),
`decode_draws` runs the decoder once and samples every draw at once. The decoder is untrained,
so real molecules' one-hot rows (x4) are added to its logits to make derivations realistic.
Usage: python benchmarks/grammar.py [--molecules 20000] [--baseline 300] [--moses PATH]
       [--points 50] [--draws 500] [--old-draws 20] [--train-batch 500]
Thread count: torch's (set OMP_NUM_THREADS=1 to measure one core).
"""

from __future__ import annotations

import argparse
import gzip
import time

import numpy as np
import torch

from raekit.grammar.cfg import ZINC_GRAMMAR
from raekit.grammar.corpora import fetch_moses
from raekit.grammar.decode import decode_grammar
from raekit.grammar.encode import encode_productions, to_one_hot
from raekit.grammar.parsers import NltkParser
from raekit.grammar.tokens import tokenize


def nltk_loop(smiles: list[str]) -> np.ndarray:
    """GrammarVAE-style encoding: one ChartParser parse per molecule, one-hot rows."""
    g = ZINC_GRAMMAR
    parse = NltkParser(g)
    one_hot = np.zeros((len(smiles), g.max_length, len(g)), dtype=np.float32)
    for i, s in enumerate(smiles):
        prods = parse(tokenize(s, g))
        one_hot[i, np.arange(len(prods)), prods] = 1
        one_hot[i, np.arange(len(prods), g.max_length), g.padding] = 1
    return one_hot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--molecules", type=int, default=20000, help="molecules for raekit")
    parser.add_argument(
        "--baseline", type=int, default=300, help="molecules for the nltk loop (at most 1000)"
    )
    parser.add_argument("--moses", help="train.csv.gz (default: fetched from the molsets wheel)")
    parser.add_argument("--processes", type=int, default=None)
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--old-draws", type=int, default=20)
    parser.add_argument("--train-batch", type=int, default=500)
    args = parser.parse_args()
    path = args.moses or fetch_moses()
    with gzip.open(path, "rt") as handle:
        lines = handle.read().split()[1:]
    rng = np.random.default_rng(0)
    sample = [lines[i] for i in rng.choice(len(lines), args.molecules, replace=False)]
    g = ZINC_GRAMMAR

    start = time.perf_counter()
    encoded = encode_productions(sample, g, processes=args.processes, progress=False)
    t_parse = time.perf_counter() - start
    # One-hot per batch of 1000, as training builds it (the full tensor would take 84 kB/molecule).
    batches = [
        to_one_hot(encoded.indices[i : i + 1000], len(g)) for i in range(0, len(encoded.rows), 1000)
    ][:1]
    for i in range(1000, len(encoded.rows), 1000):
        to_one_hot(encoded.indices[i : i + 1000], len(g))
    t_ours = time.perf_counter() - start

    base = [sample[i] for i in encoded.rows[: args.baseline]]
    start = time.perf_counter()
    reference = nltk_loop(base)
    t_base = time.perf_counter() - start
    same = np.array_equal(reference, batches[0][: len(base)].numpy())

    logits = to_one_hot(encoded.indices[:1000], len(g)) * 5 + torch.randn(
        min(1000, len(encoded.rows)), g.max_length, len(g)
    )
    start = time.perf_counter()
    decoded = decode_grammar(logits, g)
    t_dec = time.perf_counter() - start

    rate_ours, rate_base = len(sample) / t_ours, len(base) / t_base
    print(
        f"raekit: {len(sample)} molecules in {t_ours:.2f} s = {rate_ours:,.0f} mol/s "
        f"({len(encoded.failures)} out of grammar; parsing to indices alone "
        f"{len(sample) / t_parse:,.0f} mol/s)"
    )
    print(
        f"nltk ChartParser loop: {len(base)} molecules in {t_base:.2f} s = {rate_base:,.1f} mol/s"
    )
    print(f"speed-up: {rate_ours / rate_base:,.0f}x; same one-hot on the shared molecules: {same}")
    print(
        f"masked decoding: {len(logits)} sequences in {t_dec:.2f} s = {len(logits) / t_dec:,.0f} "
        f"seq/s ({int(decoded.complete.sum())} complete)"
    )
    print(f"torch threads: {torch.get_num_threads()}")
    bo_decoding(encoded.indices, args.points, args.draws, args.old_draws)
    training_profile(encoded.indices, args.train_batch)


def _paper_decoder(indices: np.ndarray, points: int):
    """The paper's molecule model (GRU 501) whose logits lean towards `points` real molecules."""
    from raekit.models import build_model

    g = ZINC_GRAMMAR
    model = build_model("gvae", "molecules", "paper").eval()
    lean = to_one_hot(indices[:points], len(g)) * 4
    real = model.decode
    model.decode = lambda z: real(z) + lean[: len(z)]
    return model


def bo_decoding(indices: np.ndarray, points: int, draws: int, old_draws: int) -> None:
    from raekit.grammar.task import decode_draws

    g = ZINC_GRAMMAR
    model = _paper_decoder(indices, points)
    codes = np.random.default_rng(0).normal(size=(points, model.latent_dim))
    start = time.perf_counter()
    with torch.no_grad():
        for d in range(old_draws):  # the per-draw loop: decoder + masked decoding per draw
            logits = model.decode(torch.as_tensor(codes, dtype=torch.float32))
            decode_grammar(logits, g, sample=True, generator=torch.Generator().manual_seed(d))
    t_old = time.perf_counter() - start
    start = time.perf_counter()
    strings = decode_draws(model, codes, draws, seed=0)
    t_new = time.perf_counter() - start
    old_rate, new_rate = points * old_draws / t_old, points * draws / t_new
    complete = np.mean([s != "" for row in strings for s in row])
    print(
        f"BO decoding at GRU 501, {points} points: per-draw loop {old_rate:,.0f} molecules/s "
        f"({old_draws} draws in {t_old:.1f} s, so {points * draws / old_rate:.0f} s for {draws}); "
        f"batched {new_rate:,.0f} molecules/s ({draws} draws in {t_new:.1f} s, "
        f"{complete:.0%} complete); speed-up {new_rate / old_rate:,.1f}x"
    )


def training_profile(indices: np.ndarray, batch: int) -> None:
    """Seconds per training step of the cpu-preset molecule GVAE (GRU 128), by phase: decoding
    all 277 steps (earlier) and only up to the batch's longest derivation (now)."""
    from raekit.config import make_config
    from raekit.models import build_from_config

    config = make_config("molecules", "gvae", "cpu")
    model = build_from_config(config).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.as_tensor(indices[:batch].astype(np.int64))
    trim, totals = model.trim, {}
    for label, model.trim in (("all 277 steps (earlier)", None), ("trimmed (now)", trim)):
        steps = model.trim(x) if model.trim else ZINC_GRAMMAR.max_length
        timings = {"encoder": 0.0, "decoder": 0.0, "loss": 0.0, "backward + step": 0.0}
        for _ in range(3):
            t0 = time.perf_counter()
            mu, logvar = model.posterior(x)
            z = model._sample(mu, logvar)
            t1 = time.perf_counter()
            logits = model.decoder(z, steps)
            t2 = time.perf_counter()
            loss = model._reconstruction(logits, x) + model.beta * model._latent_term(mu, z, logvar)
            t3 = time.perf_counter()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            t4 = time.perf_counter()
            for key, value in zip(timings, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                timings[key] += value / 3
        totals[label] = total = sum(timings.values())
        parts = ", ".join(f"{k} {v:.2f} s ({v / total:.0%})" for k, v in timings.items())
        print(
            f"molecule training step, {label}, {steps} steps (GRU 128, batch {len(x)}): "
            f"{total:.2f} s = {1000 * total / len(x):.1f} ms per molecule; {parts}"
        )
    old, new = totals.values()
    print(f"training speed-up from trimming: {old / new:.1f}x")


if __name__ == "__main__":
    main()
