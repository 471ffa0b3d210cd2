"""Batched masked decoding of many draws: equal to per-sequence decoding on the same logits."""

import numpy as np
import pytest
import torch

from raekit.errors import RaekitError
from raekit.grammar.cfg import EXPRESSION_GRAMMAR, ZINC_GRAMMAR
from raekit.grammar.decode import decode_grammar
from raekit.grammar.draws import decode_grammar_draws
from raekit.grammar.encode import encode_productions, productions_to_string, to_one_hot

pytestmark = pytest.mark.usefixtures("one_thread")


def _one_sequence(logits: np.ndarray, grammar, u: np.ndarray, temperature: float) -> str:
    """Reference: one sequence at a time with Python lists, inverse-CDF sampling by `u`."""
    nothing = grammar.nonterminals.index(grammar.productions[grammar.padding].lhs().symbol())
    stack, prods = [grammar.start_index], []
    for t in range(len(logits)):
        symbol = stack.pop() if stack else nothing
        allowed = np.flatnonzero(grammar.masks[symbol])
        scores = logits[t, allowed].astype(np.float64)
        cdf = np.cumsum(np.exp((scores - scores.max()) / temperature))
        pick = allowed[
            min(int(np.searchsorted(cdf, u[t] * cdf[-1], side="right")), len(allowed) - 1)
        ]
        prods.append(int(pick))
        stack.extend(reversed(grammar.rhs_nonterminals[pick]))
    return "" if stack else productions_to_string(prods, grammar)


def _peaked_logits(grammar, strings, noise, seed=0):
    encoded = encode_productions(strings, grammar, progress=False)
    g = torch.Generator().manual_seed(seed)
    onehot = to_one_hot(encoded.indices, len(grammar))
    return onehot * 4 + noise * torch.randn(onehot.shape, generator=g)


@pytest.mark.parametrize(
    "grammar, strings",
    [
        (EXPRESSION_GRAMMAR, ["x+1", "sin(x)*2/x", "exp(x*x)+3"]),
        (ZINC_GRAMMAR, ["CCO", "c1ccccc1C(=O)O", "CN1CCC[C@H]1c2cccnc2"]),
    ],
)
def test_sampled_draws_equal_per_sequence_decoding(grammar, strings):
    logits = _peaked_logits(grammar, strings, noise=2.0)
    draws, temperature = 6, 0.8
    u = torch.rand(
        len(strings),
        draws,
        grammar.max_length,
        dtype=torch.float64,
        generator=torch.Generator().manual_seed(1),
    )
    got = decode_grammar_draws(logits, grammar, draws, temperature=temperature, uniforms=u)
    expected = [
        [
            _one_sequence(logits[i].numpy(), grammar, u[i, d].numpy(), temperature)
            for d in range(draws)
        ]
        for i in range(len(strings))
    ]
    assert got == expected
    assert (
        any(s for row in got for s in row)
        and any(not s for row in got for s in row)
        or grammar is EXPRESSION_GRAMMAR
    )  # both complete and open derivations were exercised


@pytest.mark.parametrize("grammar", [EXPRESSION_GRAMMAR, ZINC_GRAMMAR])
def test_greedy_draws_equal_decode_grammar_with_edge_cases(grammar):
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(6, grammar.max_length, len(grammar), generator=g) * 3
    logits[1, :, :] = float("nan")  # no usable logit anywhere: first allowed production
    logits[2, 0, :] = float("-inf")
    logits[3, :4, 1] = float("inf")
    logits[4, 1, 0] = float("nan")
    old = decode_grammar(logits, grammar).strings
    new = decode_grammar_draws(logits, grammar, 3, sample=False)
    assert all(row == [s] * 3 for row, s in zip(new, old))


def test_sampling_frequencies_follow_the_masked_softmax():
    # Step 0 expands S with softmax weights over its four productions (T's are masked out);
    # later steps are pinned to S -> T and T -> x, so the first choice alone sets the string.
    g = EXPRESSION_GRAMMAR
    first = [g.rule("S", "S", op, "T") for op in "+*/"] + [g.rule("S", "T")]
    logits = torch.zeros(1, g.max_length, len(g))
    logits[0, 0, first] = torch.tensor([0.0, 1.0, -1.0, 0.5])
    logits[0, 0, g.rule("T", "x")] = 9.0  # not allowed at step 0: must never be drawn there
    logits[0, 1:, g.rule("S", "T")] = logits[0, 1:, g.rule("T", "x")] = 30.0
    strings = decode_grammar_draws(logits, g, 20_000, generator=torch.Generator().manual_seed(3))[0]
    counts = [strings.count(s) for s in ("x+x", "x*x", "x/x", "x")]
    assert sum(counts) == 20_000
    p = torch.softmax(torch.tensor([0.0, 1.0, -1.0, 0.5]), 0).numpy()
    np.testing.assert_allclose(np.array(counts) / 20_000, p, atol=0.015)  # ~4 standard errors


def test_bad_arguments():
    logits = torch.zeros(1, 15, 12)
    with pytest.raises(RaekitError, match="draws must be at least 1"):
        decode_grammar_draws(logits, EXPRESSION_GRAMMAR, 0)
    with pytest.raises(RaekitError, match="temperature must be positive"):
        decode_grammar_draws(logits, EXPRESSION_GRAMMAR, 2, temperature=0)


@pytest.mark.parametrize("model", ["gvae", "cvae"])
def test_decode_draws_runs_the_decoder_once_per_code(model, monkeypatch):
    from raekit.grammar.task import decode_draws
    from raekit.models import build_model

    net = build_model(model, "expressions", "tiny")
    calls = []
    real = net.decode
    monkeypatch.setattr(net, "decode", lambda z: calls.append(len(z)) or real(z))
    codes = np.random.default_rng(0).normal(size=(3, net.latent_dim))
    got = decode_draws(net, codes, 7, seed=1, chunk=6)  # chunk: 2 draws per pass for CVAEs
    assert calls == [3] and len(got) == 3 and all(len(row) == 7 for row in got)
    assert got == decode_draws(net, codes, 7, seed=1, chunk=6)  # seeded
    assert all(isinstance(s, str) for row in got for s in row)
