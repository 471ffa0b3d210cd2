import gzip
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdkit import Chem

from raekit.errors import RaekitError
from raekit.grammar.cfg import EXPRESSION_GRAMMAR, ZINC_GRAMMAR
from raekit.grammar.corpora import expression_corpus, fetch_moses
from raekit.grammar.encode import encode_productions, productions_to_string, to_one_hot
from raekit.grammar.parsers import NltkParser, ParseError, parser_for
from raekit.grammar.tokens import tokenize
from test_grammar_samples import SMILES


def _canonical(smiles):
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


@pytest.fixture(scope="module")
def moses_sample():
    try:
        path = os.environ.get("RAEKIT_TEST_MOSES") or fetch_moses()
    except Exception as err:  # no network, no pip, or the fetch module is unavailable
        pytest.skip(f"MOSES wheel cannot be obtained here: {err}")
    with gzip.open(path, "rt") as handle:
        lines = handle.read().split()[1:]
    rng = np.random.default_rng(1)
    return [lines[i] for i in rng.choice(len(lines), 300, replace=False)]


def test_fast_parsers_equal_nltk_chart_parser():
    corpus = expression_corpus(200, seed=3)
    for grammar, strings in ((ZINC_GRAMMAR, SMILES), (EXPRESSION_GRAMMAR, corpus)):
        fast, reference = parser_for(grammar), NltkParser(grammar)
        assert type(fast) is not NltkParser
        for s in strings:
            tokens = tokenize(s, grammar)
            assert fast(tokens) == reference(tokens), s


@pytest.mark.parametrize("bad", ["C(", "C)C", "(C)", "[C", "[H]N", "C=", "CC1(C)1", "=C"])
def test_fast_smiles_parser_rejects_what_nltk_rejects(bad):
    tokens = tokenize(bad, ZINC_GRAMMAR)
    for parse in (parser_for(ZINC_GRAMMAR), NltkParser(ZINC_GRAMMAR)):
        with pytest.raises(ParseError):
            parse(tokens)


def _round_trip(strings, grammar):
    encoded = encode_productions(strings, grammar, progress=False)
    assert not encoded.failures and encoded.indices.shape == (len(strings), grammar.max_length)
    return [productions_to_string(row, grammar) for row in encoded.indices]


def test_smiles_round_trip():
    back = _round_trip(SMILES, ZINC_GRAMMAR)
    assert back == SMILES
    assert [_canonical(s) for s in back] == [_canonical(s) for s in SMILES]


def test_moses_round_trip_and_nltk_agreement(moses_sample):
    encoded = encode_productions(moses_sample, ZINC_GRAMMAR, progress=False)
    assert len(encoded.failures) <= 3  # MOSES has a few '[H]' atoms, outside the grammar
    kept = [moses_sample[r] for r in encoded.rows]
    back = [productions_to_string(row, ZINC_GRAMMAR) for row in encoded.indices]
    assert [_canonical(s) for s in back] == [_canonical(s) for s in kept]
    reference = NltkParser(ZINC_GRAMMAR)
    for s, row in list(zip(kept, encoded.indices))[:20]:
        prods = reference(tokenize(s, ZINC_GRAMMAR))
        np.testing.assert_array_equal(row[: len(prods)], prods)


def test_expression_round_trip():
    corpus = expression_corpus(500, seed=0)
    assert _round_trip(corpus, EXPRESSION_GRAMMAR) == corpus


def test_padding_and_one_hot():
    encoded = encode_productions(["x", "sin(x)"], EXPRESSION_GRAMMAR, progress=False)
    np.testing.assert_array_equal(encoded.indices[0], [3, 7] + [11] * 13)
    np.testing.assert_array_equal(encoded.indices[1], [3, 5, 3, 7] + [11] * 11)
    one_hot = to_one_hot(encoded.indices, 12).numpy()
    np.testing.assert_array_equal(one_hot, np.eye(12, dtype=np.float32)[encoded.indices])
    with pytest.raises(RaekitError):
        to_one_hot(np.array([[12]]), 12)


def test_failures_are_counted_with_reasons():
    strings = ["CCO", "C%11CC%11", "C(", "C" * 140, "c1ccccc1"]
    encoded = encode_productions(strings, ZINC_GRAMMAR, max_invalid_fraction=0.9, progress=False)
    assert encoded.rows.tolist() == [0, 4] and encoded.total == 5
    reasons = dict(encoded.failures)
    assert "unknown token" in reasons[1] and "> 277" in reasons[3] and 2 in reasons
    assert "line 2: unknown token" in encoded.report()
    with pytest.raises(RaekitError, match="3 of 5 strings"):
        encode_productions(strings, ZINC_GRAMMAR, progress=False)


def test_parallel_equals_serial():
    strings = SMILES * 3 + ["C("]
    serial = encode_productions(strings, ZINC_GRAMMAR, processes=1, progress=False)
    parallel = encode_productions(strings, ZINC_GRAMMAR, processes=2, chunk_size=20, progress=False)
    np.testing.assert_array_equal(serial.indices, parallel.indices)
    assert serial.rows.tolist() == parallel.rows.tolist()
    assert serial.failures == parallel.failures == [(66, serial.failures[0][1])]


def test_productions_to_string_rejects_incomplete_and_misplaced():
    assert productions_to_string([0], EXPRESSION_GRAMMAR) == ""  # S -> S '+' T, still open
    assert productions_to_string([7], EXPRESSION_GRAMMAR) == ""  # T rule where S is expected
    assert productions_to_string([3, 7, 7], EXPRESSION_GRAMMAR) == ""  # rule after completion
    assert productions_to_string([3, 7, 11, 4], EXPRESSION_GRAMMAR) == "x"  # stops at padding


_TERMINALS = list(ZINC_GRAMMAR.terminals)


@settings(max_examples=150, deadline=None)
@given(
    base=st.sampled_from(SMILES[:12]),
    edits=st.lists(
        st.tuples(
            st.sampled_from(["insert", "delete", "replace"]),
            st.integers(0, 200),
            st.sampled_from(_TERMINALS),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_fast_smiles_parser_agrees_with_nltk_on_mutated_smiles(base, edits):
    tokens = tokenize(base, ZINC_GRAMMAR)
    for kind, at, terminal in edits:
        at %= len(tokens) + (kind == "insert")
        if kind == "insert":
            tokens.insert(at, terminal)
        elif kind == "delete" and len(tokens) > 1:
            del tokens[at]
        elif kind == "replace":
            tokens[at] = terminal
    results = []
    for parse in (parser_for(ZINC_GRAMMAR), NltkParser(ZINC_GRAMMAR)):
        try:
            results.append(parse(list(tokens)))
        except ParseError:
            results.append(None)
    assert results[0] == results[1], "".join(tokens)


def test_library_calls_start_no_process_pool_unless_asked(monkeypatch):
    import raekit.grammar.encode as encode

    class Asked(Exception):
        pass

    def no_pool(*args, **kwargs):
        raise Asked(args)

    monkeypatch.setattr(encode.multiprocessing, "get_context", no_pool)
    strings = ["x+1", "sin(x)*2"] * 10_000  # 20k strings: enough for a pool, if one were started
    encoded = encode_productions(strings, EXPRESSION_GRAMMAR, progress=False)
    assert len(encoded.rows) == 20_000
    with encode.parallel_parsing(2), pytest.raises(Asked):  # asked for: the pool is started
        encode_productions(strings, EXPRESSION_GRAMMAR, progress=False)
    encode_productions(strings[:10], EXPRESSION_GRAMMAR, progress=False)  # the request has ended
    with pytest.raises(RaekitError, match="processes must be 0"), encode.parallel_parsing(-1):
        pass
