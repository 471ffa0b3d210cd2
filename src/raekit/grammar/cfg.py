"""Context-free grammars as GrammarVAE uses them: productions are the one-hot symbols.

A `Grammar` is built from nltk CFG text. Production i is one-hot symbol i; the last rule
`Nothing -> None` pads derivations to `max_length`. Rules that can never derive a terminal
string (GrammarVAE's ZINC grammar refers to an undefined `class`) are kept, so indices match
GrammarVAE's, but listed in `unused` and left out of `masks`.
"""

from __future__ import annotations

from functools import cached_property

import nltk
import numpy as np

from raekit.errors import RaekitError, unknown

PADDING_LHS = "Nothing"

# Kusner et al. (2017), Section 4.1: univariate arithmetic expressions.
EXPRESSION_GRAMMAR_TEXT = """S -> S '+' T
S -> S '*' T
S -> S '/' T
S -> T
T -> '(' S ')'
T -> 'sin(' S ')'
T -> 'exp(' S ')'
T -> 'x'
T -> '1'
T -> '2'
T -> '3'
Nothing -> None"""

_ZINC_RULES = [
    "smiles -> chain",
    "atom -> bracket_atom | aliphatic_organic | aromatic_organic",
    "aliphatic_organic -> 'B' | 'C' | 'N' | 'O' | 'S' | 'P' | 'F' | 'I' | 'Cl' | 'Br'",
    "aromatic_organic -> 'c' | 'n' | 'o' | 's'",
    "bracket_atom -> '[' BAI ']'",
    "BAI -> isotope symbol BAC | symbol BAC | isotope symbol | symbol",
    "BAC -> chiral BAH | BAH | chiral",
    "BAH -> hcount BACH | BACH | hcount",
    "BACH -> charge class | charge | class",  # `class` has no rule: 2 unusable productions
    "symbol -> aliphatic_organic | aromatic_organic",
    "isotope -> DIGIT | DIGIT DIGIT | DIGIT DIGIT DIGIT",
    "DIGIT -> '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8'",
    "chiral -> '@' | '@@'",
    "hcount -> 'H' | 'H' DIGIT",
    "charge -> '-' | '-' DIGIT | '-' DIGIT DIGIT | '+' | '+' DIGIT | '+' DIGIT DIGIT",
    # nltk >= 3.9.3 reads '\' as one backslash, the SMILES bond (older nltk unescaped '\\').
    "bond -> '-' | '=' | '#' | '/' | '\\'",
    "ringbond -> DIGIT | bond DIGIT",
    "branched_atom -> atom | atom RB | atom BB | atom RB BB",
    "RB -> RB ringbond | ringbond",
    "BB -> BB branch | branch",
    "branch -> '(' chain ')' | '(' bond chain ')'",
    "chain -> branched_atom | chain branched_atom | chain bond branched_atom",
    "Nothing -> None",
]
# GrammarVAE's `zinc_grammar.py` (Kusner et al. 2017): 76 productions in this order.
ZINC_GRAMMAR_TEXT = "\n".join(_ZINC_RULES)


class Grammar:
    """A CFG with the tables that masked encoding, decoding and training need."""

    def __init__(self, text: str, max_length: int, name: str = "custom"):
        try:
            cfg = nltk.CFG.fromstring(text)
        except ValueError as err:
            raise RaekitError(f"grammar {name!r} cannot be read: {err}") from None
        self.name, self.text, self.max_length, self.cfg = name, text, int(max_length), cfg
        self.productions = tuple(cfg.productions())
        self.start = cfg.start().symbol()
        lhs_names = [p.lhs().symbol() for p in self.productions]
        self.nonterminals = tuple(dict.fromkeys(lhs_names))
        nt_index = {n: i for i, n in enumerate(self.nonterminals)}
        self.lhs = np.array([nt_index[n] for n in lhs_names], dtype=np.int64)
        # Non-terminals of each right-hand side, left to right (undefined symbols have no index).
        self.rhs_nonterminals = tuple(
            tuple(
                nt_index[s.symbol()]
                for s in p.rhs()
                if isinstance(s, nltk.Nonterminal) and s.symbol() in nt_index
            )
            for p in self.productions
        )
        pads = [i for i, n in enumerate(lhs_names) if n == PADDING_LHS]
        if len(pads) != 1:
            raise RaekitError(f"grammar {name!r} needs exactly one padding rule 'Nothing -> None'")
        self.padding = pads[0]
        self.unused = self._unproductive()
        self.terminals = tuple(
            sorted(
                {s for p in self.productions for s in p.rhs() if isinstance(s, str)},
                key=lambda s: (-len(s), s),
            )
        )
        self._rules = {
            (lhs_names[i], tuple(_name(s) for s in p.rhs())): i
            for i, p in enumerate(self.productions)
        }

    def __repr__(self) -> str:
        return f"Grammar({self.name!r}, {len(self)} productions, max_length={self.max_length})"

    def __len__(self) -> int:
        return len(self.productions)

    @property
    def num_nonterminals(self) -> int:
        return len(self.nonterminals)

    def rule(self, lhs: str, *rhs: str) -> int:
        """Index of the production `lhs -> rhs...` (symbols by name, terminals unquoted)."""
        return self._rules[(lhs, tuple(rhs))]

    def _unproductive(self) -> tuple[int, ...]:
        """Productions that can never derive a terminal string (the padding rule excepted)."""
        productive: set[str] = set()
        changed = True
        while changed:
            changed = False
            for p in self.productions:
                name = p.lhs().symbol()
                if name not in productive and all(
                    isinstance(s, str) or s.symbol() in productive for s in p.rhs()
                ):
                    productive.add(name)
                    changed = True
        return tuple(
            i
            for i, p in enumerate(self.productions)
            if i != self.padding
            and not all(isinstance(s, str) or s.symbol() in productive for s in p.rhs())
        )

    @cached_property
    def lhs_masks(self) -> np.ndarray:
        """(num_nonterminals, num_productions) bool: every production of each non-terminal."""
        return self.lhs[None, :] == np.arange(self.num_nonterminals)[:, None]

    @cached_property
    def masks(self) -> np.ndarray:
        """`lhs_masks` without the `unused` productions: what a decoder may choose."""
        masks = self.lhs_masks.copy()
        masks[:, list(self.unused)] = False
        return masks

    @cached_property
    def production_masks(self) -> np.ndarray:
        """(num_productions, num_productions) bool: row p = the choices open where p was used."""
        return self.masks[self.lhs]

    @cached_property
    def start_index(self) -> int:
        return self.nonterminals.index(self.start)


def _name(symbol) -> str:
    return symbol.symbol() if isinstance(symbol, nltk.Nonterminal) else symbol


EXPRESSION_GRAMMAR = Grammar(EXPRESSION_GRAMMAR_TEXT, max_length=15, name="expressions")
ZINC_GRAMMAR = Grammar(ZINC_GRAMMAR_TEXT, max_length=277, name="molecules")
GRAMMARS = {"expressions": EXPRESSION_GRAMMAR, "molecules": ZINC_GRAMMAR}


def get_grammar(name: str) -> Grammar:
    """The built-in grammar called `name` ('expressions' or 'molecules')."""

    if name not in GRAMMARS:
        raise unknown("grammar", name, GRAMMARS)
    return GRAMMARS[name]
