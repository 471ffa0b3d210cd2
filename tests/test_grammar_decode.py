import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from raekit.errors import RaekitError
from raekit.grammar.cfg import EXPRESSION_GRAMMAR, ZINC_GRAMMAR
from raekit.grammar.corpora import expression_corpus
from raekit.grammar.decode import decode_chars, decode_grammar
from raekit.grammar.encode import encode_productions, productions_to_string, to_one_hot
from raekit.grammar.tokens import CharVocab
from test_grammar_samples import SMILES


def _check_leftmost(productions, grammar):
    """Replay with a plain list stack: each production expands the leftmost non-terminal."""
    names = [str(p.lhs()) for p in grammar.productions]
    stack = [grammar.start]
    for p in productions:
        expected = stack.pop() if stack else "Nothing"
        assert names[p] == expected and p not in grammar.unused
        stack.extend(grammar.nonterminals[i] for i in reversed(grammar.rhs_nonterminals[p]))
    return not stack


_values = st.one_of(st.floats(-50, 50), st.sampled_from([np.nan, np.inf, -np.inf]))


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    grammar=st.sampled_from([EXPRESSION_GRAMMAR, ZINC_GRAMMAR]),
    sample=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_decoder_only_emits_productions_of_the_popped_nonterminal(data, grammar, sample, seed):
    steps = data.draw(st.integers(1, 40 if grammar is ZINC_GRAMMAR else grammar.max_length))
    logits = data.draw(arrays(np.float32, (3, steps, len(grammar)), elements=_values))
    out = decode_grammar(
        torch.from_numpy(logits),
        grammar,
        sample=sample,
        generator=torch.Generator().manual_seed(seed),
    )
    assert out.productions.shape == (3, steps)
    for row, complete, string in zip(out.productions.tolist(), out.complete.tolist(), out.strings):
        assert _check_leftmost(row, grammar) == complete
        assert string == (productions_to_string(row, grammar) if complete else "")


@pytest.mark.parametrize(
    "grammar, strings",
    [(ZINC_GRAMMAR, SMILES), (EXPRESSION_GRAMMAR, expression_corpus(100, seed=5))],
)
def test_decoding_the_true_one_hot_gives_the_strings_back(grammar, strings):
    encoded = encode_productions(strings, grammar, progress=False)
    logits = to_one_hot(encoded.indices, len(grammar)) * 4 + 0.1 * torch.randn(
        len(strings), grammar.max_length, len(grammar), generator=torch.Generator().manual_seed(0)
    )
    out = decode_grammar(logits, grammar)
    assert out.strings == strings and bool(out.complete.all())
    np.testing.assert_array_equal(out.productions.numpy(), encoded.indices)


def test_sampling_is_seeded_and_follows_the_probabilities():
    g = EXPRESSION_GRAMMAR
    logits = torch.zeros(2000, 2, 12)
    logits[:, 0, 3] = 5.0  # S -> T
    logits[:, 1, 7] = np.log(3.0)  # T -> 'x' three times as likely as each other T rule
    out = decode_grammar(logits, g, sample=True, generator=torch.Generator().manual_seed(1))
    again = decode_grammar(logits, g, sample=True, generator=torch.Generator().manual_seed(1))
    assert torch.equal(out.productions, again.productions)
    first = out.productions[:, 0]
    p_s_t = np.exp(5) / (np.exp(5) + 3)
    assert abs((first == 3).float().mean().item() - p_s_t) < 0.02
    second = out.productions[first == 3, 1]
    assert abs((second == 7).float().mean().item() - 3 / 9) < 0.04  # 3 / (3 + 6 others)
    with pytest.raises(RaekitError):
        decode_grammar(logits, g, sample=True, temperature=0)


def test_greedy_masks_a_larger_forbidden_logit():
    logits = torch.zeros(1, 2, 12)
    logits[0, 0, 7] = 100.0  # T -> 'x' is not allowed at the start (S is popped)
    logits[0, 0, 3] = 1.0
    logits[0, 1, 8] = 1.0
    out = decode_grammar(logits, EXPRESSION_GRAMMAR)
    assert out.productions.tolist() == [[3, 8]] and out.strings == ["1"]


def test_char_decoding():
    vocab = CharVocab("CO(=)", max_length=6)
    codes = torch.from_numpy(vocab.encode(["C(=O)", "CO"]))
    logits = torch.nn.functional.one_hot(codes, len(vocab)).float() * 3
    assert decode_chars(logits, vocab) == ["C(=O)", "CO"]
    logits[0, 0] = float("nan")
    assert decode_chars(logits, vocab)[1] == "CO"
    sampled = decode_chars(
        logits * 10, vocab, sample=True, generator=torch.Generator().manual_seed(0)
    )
    assert sampled[1] == "CO"
