"""Parsers from token lists to leftmost derivations (production indices in pre-order).

nltk's ChartParser handles any grammar but is slow; the two built-in grammars are deterministic
with one token of lookahead, so they get direct recursive-descent parsers. Their left-recursive
rules (`chain -> chain bond branched_atom`, `S -> S '+' T`, ...) read a list of items: the
pre-order emits the list rules from the last item back to the first, then each item in order.
`parser_for` picks the fast parser when a grammar has exactly the expected rules.
"""

from __future__ import annotations

import nltk

from raekit.grammar.cfg import Grammar
from raekit.grammar.parse_tools import ParseError, depth_limited, left_list
from raekit.grammar.smiles_parser import SmilesParser


class NltkParser:
    """Any grammar, via nltk's ChartParser (the first tree found)."""

    def __init__(self, grammar: Grammar):
        self._parser = nltk.ChartParser(grammar.cfg)
        self._index = {p: i for i, p in enumerate(grammar.productions)}

    @depth_limited
    def __call__(self, tokens: list[str]) -> list[int]:
        try:
            tree = next(iter(self._parser.parse(tokens)), None)
        except ValueError as err:  # nltk rejects tokens outside the grammar this way
            raise ParseError(str(err)) from None
        if tree is None:
            raise ParseError("not derivable from the grammar")
        return [self._index[p] for p in tree.productions()]


class ExpressionParser:
    """GrammarVAE's expression grammar: S is a list of T joined by '+', '*' or '/'."""

    def __init__(self, g: Grammar):
        self.s_op = {op: g.rule("S", "S", op, "T") for op in "+*/"}
        self.s_t = g.rule("S", "T")
        self.t_wrap = {w: g.rule("T", w, "S", ")") for w in ("(", "sin(", "exp(")}
        self.t_leaf = {leaf: g.rule("T", leaf) for leaf in ("x", "1", "2", "3")}
        if len(g) != 12:
            raise KeyError("extra rules")

    @depth_limited
    def __call__(self, tokens: list[str]) -> list[int]:
        out: list[int] = []
        if self._s(tokens, 0, out) != len(tokens):
            raise ParseError("trailing tokens")
        return out

    def _s(self, tokens, pos, out) -> int:
        terms, ops = [], []
        while True:
            sub: list[int] = []
            pos = self._t(tokens, pos, sub)
            terms.append(sub)
            if pos < len(tokens) and tokens[pos] in self.s_op:
                ops.append(tokens[pos])
                pos += 1
            else:
                break
        left_list(out, [None] + ops, self.s_op.__getitem__, self.s_t)
        for sub in terms:
            out.extend(sub)
        return pos

    def _t(self, tokens, pos, out) -> int:
        if pos >= len(tokens):
            raise ParseError("expression ends early")
        tok = tokens[pos]
        if tok in self.t_leaf:
            out.append(self.t_leaf[tok])
            return pos + 1
        if tok not in self.t_wrap:
            raise ParseError(f"unexpected {tok!r}")
        out.append(self.t_wrap[tok])
        pos = self._s(tokens, pos + 1, out)
        if pos >= len(tokens) or tokens[pos] != ")":
            raise ParseError("missing ')'")
        return pos + 1


def parser_for(grammar: Grammar):
    """The fastest parser that handles `grammar` exactly."""
    for fast in (SmilesParser, ExpressionParser):
        try:
            return fast(grammar)
        except KeyError:
            continue
    return NltkParser(grammar)
