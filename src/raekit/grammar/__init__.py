"""Grammar and character sequence models' data: grammars, parsing, decoding and scores."""

from raekit.grammar.cfg import EXPRESSION_GRAMMAR, GRAMMARS, ZINC_GRAMMAR, Grammar, get_grammar
from raekit.grammar.encode import Encoded, encode_productions, productions_to_string, to_one_hot
from raekit.grammar.tokens import CharVocab, tokenize

__all__ = [
    "EXPRESSION_GRAMMAR",
    "GRAMMARS",
    "ZINC_GRAMMAR",
    "Grammar",
    "get_grammar",
    "Encoded",
    "encode_productions",
    "productions_to_string",
    "to_one_hot",
    "CharVocab",
    "tokenize",
]
