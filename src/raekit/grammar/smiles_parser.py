"""A recursive-descent parser for GrammarVAE's SMILES grammar: tokens to the leftmost
derivation, the productions nltk's chart parser finds (the grammar tests compare the two)."""

from __future__ import annotations

from raekit.grammar.cfg import Grammar
from raekit.grammar.parse_tools import ParseError, depth_limited, left_list

_BONDS = ("-", "=", "#", "/", "\\")
_DIGITS = tuple("12345678")


class SmilesParser:
    """GrammarVAE's ZINC SMILES grammar (ring bonds before branches, as canonical SMILES)."""

    def __init__(self, g: Grammar):
        r = g.rule
        self.smiles = r("smiles", "chain")
        self.chain = (
            r("chain", "branched_atom"),
            r("chain", "chain", "branched_atom"),
            r("chain", "chain", "bond", "branched_atom"),
        )
        self.bond = {b: r("bond", b) for b in _BONDS}
        self.digit = {d: r("DIGIT", d) for d in _DIGITS}
        self.organic = {}
        for kind, symbols in (
            ("aliphatic_organic", "B C N O S P F I Cl Br"),
            ("aromatic_organic", "c n o s"),
        ):
            for s in symbols.split():
                self.organic[s] = (r("atom", kind), r(kind, s), r("symbol", kind))
        self.bracket = (r("atom", "bracket_atom"), r("bracket_atom", "[", "BAI", "]"))
        self.ba = {
            (rb, bb): r("branched_atom", *("atom",) + ("RB",) * rb + ("BB",) * bb)
            for rb in (0, 1)
            for bb in (0, 1)
        }
        self.rb = (
            r("RB", "ringbond"),
            r("RB", "RB", "ringbond"),
            r("ringbond", "DIGIT"),
            r("ringbond", "bond", "DIGIT"),
        )
        self.bb = (
            r("BB", "branch"),
            r("BB", "BB", "branch"),
            r("branch", "(", "chain", ")"),
            r("branch", "(", "bond", "chain", ")"),
        )
        self.bai = {
            (iso, bac): r("BAI", *("isotope",) * iso + ("symbol",) + ("BAC",) * bac)
            for iso in (0, 1)
            for bac in (0, 1)
        }
        self.bac = {
            (c, h): r("BAC", *("chiral",) * c + ("BAH",) * h) for c, h in ((1, 1), (0, 1), (1, 0))
        }
        self.bah = {
            (h, c): r("BAH", *("hcount",) * h + ("BACH",) * c) for h, c in ((1, 1), (0, 1), (1, 0))
        }
        self.bach = r("BACH", "charge")
        self.isotope = {n: r("isotope", *("DIGIT",) * n) for n in (1, 2, 3)}
        self.chiral = {c: r("chiral", c) for c in ("@", "@@")}
        self.hcount = (r("hcount", "H"), r("hcount", "H", "DIGIT"))
        self.charge = {(s, n): r("charge", s, *("DIGIT",) * n) for s in "-+" for n in (0, 1, 2)}
        if len(g) != 76:
            raise KeyError("extra rules")

    @depth_limited
    def __call__(self, tokens: list[str]) -> list[int]:
        tokens = tokens + [""]  # a sentinel end token keeps lookahead simple
        out = [self.smiles]
        if self._chain(tokens, 0, out) != len(tokens) - 1:
            raise ParseError("unexpected token")
        return out

    def _chain(self, tokens, pos, out) -> int:
        items = []  # (bond token or None, productions of the branched atom)
        while True:
            bond = None
            if tokens[pos] in self.bond and items:
                bond, pos = tokens[pos], pos + 1
            sub: list[int] = []
            pos = self._branched_atom(tokens, pos, sub)
            items.append((bond, sub))
            nxt = tokens[pos]
            if not (nxt in self.organic or nxt == "[" or nxt in self.bond):
                break
        left_list(out, items, lambda it: self.chain[2 if it[0] else 1], self.chain[0])
        for bond, sub in items:
            if bond is not None:
                out.append(self.bond[bond])
            out.extend(sub)
        return pos

    def _branched_atom(self, tokens, pos, out) -> int:
        at = len(out)
        out.append(-1)  # placeholder: the branched_atom rule depends on what follows
        pos = self._atom(tokens, pos, out)
        rings = []
        while True:
            tok = tokens[pos]
            if tok in self.digit:
                rings.append((None, tok))
                pos += 1
            elif tok in self.bond and tokens[pos + 1] in self.digit:
                rings.append((tok, tokens[pos + 1]))
                pos += 2
            else:
                break
        if rings:
            left_list(out, rings, lambda _: self.rb[1], self.rb[0])
            for bond, digit in rings:
                out.extend((self.rb[3], self.bond[bond]) if bond else (self.rb[2],))
                out.append(self.digit[digit])
        branches = []
        while tokens[pos] == "(":
            sub: list[int] = []
            pos = self._branch(tokens, pos, sub)
            branches.append(sub)
        if branches:
            left_list(out, branches, lambda _: self.bb[1], self.bb[0])
            for sub in branches:
                out.extend(sub)
        out[at] = self.ba[(bool(rings), bool(branches))]
        return pos

    def _branch(self, tokens, pos, out) -> int:
        pos += 1
        if tokens[pos] in self.bond:
            out.extend((self.bb[3], self.bond[tokens[pos]]))
            pos += 1
        else:
            out.append(self.bb[2])
        pos = self._chain(tokens, pos, out)
        if tokens[pos] != ")":
            raise ParseError("missing ')'")
        return pos + 1

    def _atom(self, tokens, pos, out) -> int:
        tok = tokens[pos]
        if tok in self.organic:
            out.extend(self.organic[tok][:2])
            return pos + 1
        if tok != "[":
            raise ParseError(f"expected an atom, found {tok or 'the end'!r}")
        return self._bracket(tokens, pos + 1, out)

    def _digits(self, tokens, pos, most) -> list[str]:
        found = []
        while len(found) < most and tokens[pos + len(found)] in self.digit:
            found.append(tokens[pos + len(found)])
        return found

    def _bracket(self, tokens, pos, out) -> int:
        out.extend(self.bracket)
        at = len(out)
        out.append(-1)  # BAI rule, known once the contents are read
        iso = self._digits(tokens, pos, 3)
        if iso:
            out.append(self.isotope[len(iso)])
            out.extend(self.digit[d] for d in iso)
            pos += len(iso)
        tok = tokens[pos]
        if tok not in self.organic:
            raise ParseError(f"bracket atom without a symbol: {tok!r}")
        out.append(self.organic[tok][2])
        out.append(self.organic[tok][1])
        before = len(out)
        pos = self._bac(tokens, pos + 1, out)
        has_bac = len(out) > before
        out[at] = self.bai[(bool(iso), has_bac)]
        if tokens[pos] != "]":
            raise ParseError("bad bracket atom")
        return pos + 1

    def _bac(self, tokens, pos, out) -> int:
        tok = tokens[pos]
        chiral = tok in self.chiral
        at_h = pos + chiral
        h = tokens[at_h] == "H"
        at_charge = at_h + h + (h and tokens[at_h + 1] in self.digit)
        charge = tokens[at_charge] in ("-", "+")
        if not (chiral or h or charge):
            return pos
        out.append(self.bac[(int(chiral), int(h or charge))])
        if chiral:
            out.append(self.chiral[tok])
            pos += 1
        if h or charge:
            out.append(self.bah[(int(h), int(charge))])
        if h:
            digits = self._digits(tokens, pos + 1, 1)
            out.append(self.hcount[len(digits)])
            out.extend(self.digit[d] for d in digits)
            pos += 1 + len(digits)
        if charge:
            sign = tokens[pos]
            digits = self._digits(tokens, pos + 1, 2)
            out.extend((self.bach, self.charge[(sign, len(digits))]))
            out.extend(self.digit[d] for d in digits)
            pos += 1 + len(digits)
        return pos
