"""GrammarVAE's measures of GrammarVAE's own trained expression grammar VAE, run in raekit
(`raekit.models.grammarvae_weights`): reconstruction accuracy of held-out expressions (the
file's last 10%, which Keras's validation_split kept out of its training) and prior validity of
N(0, I) draws, with GrammarVAE's counts unless told otherwise.

    python experiments/grammarvae_pretrained_measures.py \\
        ../shared/data/grammarvae-pretrained/eq_vae_grammar_h100_c234_L25_E50_batchB.hdf5 \\
        ../shared/data/equation2_15_dataset.txt --items 500
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from raekit.bo.measures import GRAMMARVAE_COUNTS, prior_validity, reconstruction_accuracy
from raekit.grammar.cfg import EXPRESSION_GRAMMAR
from raekit.grammar.encode import encode_productions
from raekit.grammar.expression_file import read_expressions
from raekit.grammar.scores import is_valid_expression
from raekit.models.grammarvae_weights import grammarvae_expression_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights")
    parser.add_argument("expressions")
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    for name, default in GRAMMARVAE_COUNTS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default)
    args = parser.parse_args()
    model = grammarvae_expression_model(args.weights)
    expressions = read_expressions(args.expressions)
    tail = np.arange(len(expressions) - len(expressions) // 10, len(expressions))
    rng = np.random.default_rng(args.seed)
    held = [expressions[i] for i in rng.choice(tail, args.items, replace=False)]
    encoded = encode_productions(held, EXPRESSION_GRAMMAR, progress=False)
    truth = np.array([held[i] for i in encoded.rows], dtype=object)
    began = time.perf_counter()
    accuracy = reconstruction_accuracy(
        model, encoded.indices, truth, args.encodings, args.decodings, args.seed
    )
    codes = rng.standard_normal((args.prior_draws, 25)).astype(np.float32)
    validity = prior_validity(model, codes, args.prior_decodings, is_valid_expression, args.seed)
    print(
        json.dumps(
            {
                "items": len(truth),
                "counts": {k: getattr(args, k) for k in GRAMMARVAE_COUNTS},
                "reconstruction_accuracy": accuracy,
                "prior_validity": validity,
                "seconds": time.perf_counter() - began,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
