"""Molecules parsed to one-hot per second: raekit vs a plain nltk ChartParser loop; decoding rate.

The baseline is what GrammarVAE does: tokenise, nltk ChartParser, the first tree's productions,
one-hot rows, one molecule at a time. Both run on the same MOSES molecules in the same process.
Usage: python benchmarks/grammar.py [--molecules 20000] [--baseline 300] [--moses PATH]
"""
from __future__ import annotations

import argparse
import gzip
import time

import numpy as np
import torch

from raekit.grammar.cfg import ZINC_GRAMMAR
from raekit.grammar.data import fetch_moses
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
    parser.add_argument("--baseline", type=int, default=300,
                        help="molecules for the nltk loop (at most 1000)")
    parser.add_argument("--moses", help="train.csv.gz (default: fetched from the molsets wheel)")
    parser.add_argument("--processes", type=int, default=None)
    args = parser.parse_args()
    path = args.moses or fetch_moses()
    lines = gzip.open(path, "rt").read().split()[1:]
    rng = np.random.default_rng(0)
    sample = [lines[i] for i in rng.choice(len(lines), args.molecules, replace=False)]
    g = ZINC_GRAMMAR

    start = time.perf_counter()
    encoded = encode_productions(sample, g, processes=args.processes, progress=False)
    t_parse = time.perf_counter() - start
    # One-hot per batch of 1000, as training builds it (the full tensor would take 84 kB/molecule).
    batches = [to_one_hot(encoded.indices[i:i + 1000], len(g))
               for i in range(0, len(encoded.rows), 1000)][:1]
    for i in range(1000, len(encoded.rows), 1000):
        to_one_hot(encoded.indices[i:i + 1000], len(g))
    t_ours = time.perf_counter() - start

    base = [sample[i] for i in encoded.rows[:args.baseline]]
    start = time.perf_counter()
    reference = nltk_loop(base)
    t_base = time.perf_counter() - start
    same = np.array_equal(reference, batches[0][:len(base)].numpy())

    logits = to_one_hot(encoded.indices[:1000], len(g)) * 5 + torch.randn(
        min(1000, len(encoded.rows)), g.max_length, len(g))
    start = time.perf_counter()
    decoded = decode_grammar(logits, g)
    t_dec = time.perf_counter() - start

    rate_ours, rate_base = len(sample) / t_ours, len(base) / t_base
    print(f"raekit: {len(sample)} molecules in {t_ours:.2f} s = {rate_ours:,.0f} mol/s "
          f"({len(encoded.failures)} out of grammar; parsing to indices alone "
          f"{len(sample) / t_parse:,.0f} mol/s)")
    print(f"nltk ChartParser loop: {len(base)} molecules in {t_base:.2f} s = "
          f"{rate_base:,.1f} mol/s")
    print(f"speed-up: {rate_ours / rate_base:,.0f}x; same one-hot on the shared molecules: {same}")
    print(f"masked decoding: {len(logits)} sequences in {t_dec:.2f} s = {len(logits) / t_dec:,.0f} "
          f"seq/s ({int(decoded.complete.sum())} complete)")


if __name__ == "__main__":
    main()
