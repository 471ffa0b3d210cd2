import numpy as np
import pytest

from raekit.errors import RaekitError
from raekit.grammar.cfg import EXPRESSION_GRAMMAR, ZINC_GRAMMAR, Grammar, get_grammar
from raekit.grammar.tokens import CharVocab, TokenError, tokenize


def test_rule_counts_order_and_lengths():
    assert len(EXPRESSION_GRAMMAR) == 12 and EXPRESSION_GRAMMAR.max_length == 15
    assert len(ZINC_GRAMMAR) == 76 and ZINC_GRAMMAR.max_length == 277
    z = [str(p) for p in ZINC_GRAMMAR.productions]
    assert z[0] == "smiles -> chain" and z[1:4] == [
        "atom -> bracket_atom",
        "atom -> aliphatic_organic",
        "atom -> aromatic_organic",
    ]
    assert z[37:45] == [f"DIGIT -> '{d}'" for d in "12345678"]
    assert z[-4:] == [
        "chain -> branched_atom",
        "chain -> chain branched_atom",
        "chain -> chain bond branched_atom",
        "Nothing -> None",
    ]
    assert str(EXPRESSION_GRAMMAR.productions[5]) == "T -> 'sin(' S ')'"
    assert ZINC_GRAMMAR.padding == 75 and EXPRESSION_GRAMMAR.padding == 11


def test_unused_rules_are_the_undefined_class_ones():
    assert ZINC_GRAMMAR.unused == (29, 31)
    assert all("class" in str(ZINC_GRAMMAR.productions[i]) for i in ZINC_GRAMMAR.unused)
    assert EXPRESSION_GRAMMAR.unused == ()
    assert ZINC_GRAMMAR.lhs_masks[:, 29].any() and not ZINC_GRAMMAR.masks[:, [29, 31]].any()


def test_masks_rhs_and_lhs_tables():
    g = EXPRESSION_GRAMMAR
    assert g.nonterminals == ("S", "T", "Nothing")
    expected = np.zeros((3, 12), bool)
    expected[0, :4] = expected[1, 4:11] = expected[2, 11] = True
    np.testing.assert_array_equal(g.masks, expected)
    assert g.rhs_nonterminals[0] == (0, 1) and g.rhs_nonterminals[7] == ()
    assert g.rhs_nonterminals[11] == ()  # 'None' is no non-terminal of the grammar
    np.testing.assert_array_equal(g.production_masks[5], expected[1])
    z = ZINC_GRAMMAR
    chain = z.nonterminals.index("chain")
    assert z.rhs_nonterminals[74] == (
        chain,
        z.nonterminals.index("bond"),
        z.nonterminals.index("branched_atom"),
    )
    # Every usable production appears in exactly one row of the masks.
    assert (z.masks.sum(0) == np.isin(np.arange(76), z.unused, invert=True)).all()


def test_grammar_errors():
    with pytest.raises(RaekitError, match="padding"):
        Grammar("S -> 'a'", 5)
    with pytest.raises(RaekitError, match="did you mean 'molecules'"):
        get_grammar("molecule")


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("CCl", ["C", "Cl"]),
        ("BrC", ["Br", "C"]),
        ("[C@@H]", ["[", "C", "@@", "H", "]"]),
        ("[nH+]", ["[", "n", "H", "+", "]"]),
        ("C\\C=C/C", ["C", "\\", "C", "=", "C", "/", "C"]),
        ("c1ccccc1", ["c", "1", "c", "c", "c", "c", "c", "1"]),
    ],
)
def test_smiles_tokens(text, tokens):
    assert tokenize(text, ZINC_GRAMMAR) == tokens


def test_expression_tokens_and_unknown():
    assert tokenize("sin(x) * 3", EXPRESSION_GRAMMAR) == ["sin(", "x", ")", "*", "3"]
    with pytest.raises(TokenError, match="character 3"):
        tokenize("CC%10", ZINC_GRAMMAR)
    with pytest.raises(TokenError):
        tokenize("C9", ZINC_GRAMMAR)


def test_char_vocab_round_trip_and_errors():
    vocab = CharVocab("1COc", max_length=10)
    assert vocab.chars == " 1COc" and len(vocab) == 5
    codes = vocab.encode(["CCO", "c1c"])
    np.testing.assert_array_equal(codes[0], [2, 2, 3] + [0] * 7)
    assert vocab.decode(codes) == ["CCO", "c1c"]
    with pytest.raises(RaekitError, match="outside the vocabulary"):
        vocab.encode(["N"])
    with pytest.raises(RaekitError, match="more than 10"):
        vocab.encode(["C" * 11])
