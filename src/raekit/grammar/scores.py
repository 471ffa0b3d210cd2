"""Objectives of the paper's Section 6.2 (from GrammarVAE): expression fit and penalised logP.

Expressions are evaluated by walking their derivation with numpy (never `eval`). The grammar
puts '+', '*' and '/' at one level, so each list `T op T op ...` is evaluated with the usual
precedence ('*' and '/' before '+', left to right), which is how the printed string reads.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from raekit.errors import RaekitError
from raekit.grammar.cfg import EXPRESSION_GRAMMAR
from raekit.grammar.parsers import ExpressionParser, ParseError
from raekit.grammar.tokens import TokenError, tokenize

EXPRESSION_X = np.linspace(-10, 10, 1000)
INVALID_EXPRESSION_SCORE = float(np.log(1 + 1000))


def expression_target(x: np.ndarray = EXPRESSION_X) -> np.ndarray:
    """The target function of the symbolic-regression task: 1/3 + x + sin(x * x)."""
    return 1 / 3 + x + np.sin(x * x)


class _Evaluator:
    """Values of a derivation (pre-order production indices) at the points x."""

    def __init__(self, x: np.ndarray):
        g = EXPRESSION_GRAMMAR
        self.x = x
        self.op = {g.rule("S", "S", op, "T"): op for op in "+*/"}
        self.wrap = {g.rule("T", w, "S", ")"): w for w in ("(", "sin(", "exp(")}
        self.leaf = {
            g.rule("T", c): (x if c == "x" else np.full_like(x, float(c)))
            for c in ("x", "1", "2", "3")
        }

    def evaluate(self, prods: list[int]) -> np.ndarray:
        self.prods, self.pos = prods, 0
        return self._s()

    def _s(self) -> np.ndarray:
        ops = []
        while self.prods[self.pos] in self.op:  # the list rules come first, last op first
            ops.append(self.op[self.prods[self.pos]])
            self.pos += 1
        self.pos += 1  # S -> T
        terms = [self._t() for _ in range(len(ops) + 1)]
        return _with_precedence(terms, ops[::-1])

    def _t(self) -> np.ndarray:
        rule = self.prods[self.pos]
        self.pos += 1
        if rule in self.leaf:
            return self.leaf[rule]
        inner = self._s()
        return {"(": inner, "sin(": np.sin(inner), "exp(": np.exp(inner)}[self.wrap[rule]]


def _with_precedence(terms: list[np.ndarray], ops: list[str]) -> np.ndarray:
    """terms[0] ops[0] terms[1] ... with '*' and '/' binding tighter than '+'."""
    total, product = None, terms[0]
    for op, term in zip(ops, terms[1:]):
        if op == "+":
            total = product if total is None else total + product
            product = term
        else:
            product = product * term if op == "*" else product / term
    return product if total is None else total + product


@lru_cache(maxsize=1)
def _expression_parser() -> ExpressionParser:
    return ExpressionParser(EXPRESSION_GRAMMAR)


def parses_as_expression(expression: str) -> bool:
    """`expression` derives from the expression grammar (a grammar decoding that completed)."""
    try:
        _expression_parser()(tokenize(expression, EXPRESSION_GRAMMAR))
    except (TokenError, ParseError):
        return False
    return True


def evaluate_expression(
    expression: str, x: np.ndarray = EXPRESSION_X, strict: bool = False
) -> np.ndarray | None:
    """Values of `expression` at x (inf / NaN where it overflows), or None when it does not parse.

    As GrammarVAE evaluates them: overflow gives inf and division by zero inf or NaN, without
    making the expression invalid; the score caps or rejects such values.
    """
    try:
        prods = _expression_parser()(tokenize(expression, EXPRESSION_GRAMMAR))
    except (TokenError, ParseError):
        return None
    rules = (
        {"divide": "raise", "invalid": "raise", "over": "ignore"} if strict else {"all": "ignore"}
    )
    with np.errstate(**rules):
        return _Evaluator(np.asarray(x, dtype=np.float64)).evaluate(prods)


def is_valid_expression(expression: str) -> bool:
    """GrammarVAE's validity of an expression: it derives from the grammar and can be evaluated
    at x = 0 without dividing by zero (`2/x` and `1/sin(x)` are invalid; an overflow to inf, as
    in `exp(exp(exp(3)))`, is not an error)."""
    try:
        return evaluate_expression(expression, np.zeros(1), strict=True) is not None
    except FloatingPointError:
        return False


def expression_score(expression: str) -> float:
    """log(1 + mean(min((f(x) - y)^2, 1000))) on 1000 points of [-10, 10]; lower is better.

    GrammarVAE's rule: each point's squared error is capped at 1000 (an overflow to inf costs
    1000); a score that is still not finite (NaN somewhere) or an expression that does not
    parse scores log(1 + 1000).
    """
    values = evaluate_expression(expression)
    if values is None:
        return INVALID_EXPRESSION_SCORE
    with np.errstate(all="ignore"):
        score = np.log1p(np.mean(np.minimum((values - expression_target()) ** 2, 1000.0)))
    return float(score) if np.isfinite(score) else INVALID_EXPRESSION_SCORE


@dataclass(frozen=True)
class ScoreStats:
    """Means and standard deviations of logP, -SA and -ring penalty over a data set."""

    logp_mean: float
    logp_std: float
    sa_mean: float  # of -SA
    sa_std: float
    cycle_mean: float  # of -max(0, largest ring - 6)
    cycle_std: float

    def to_dict(self) -> dict:
        return asdict(self)


# GrammarVAE's standardisation constants, computed on ZINC250k.
ZINC250K_STATS = ScoreStats(
    2.4570953396190123,
    1.434324401111988,
    -3.0525811293166134,
    0.8335207024513095,
    -0.0485696876403053,
    0.2860212110245455,
)


@lru_cache(maxsize=1)
def _sascorer():
    # the grammar extra
    from rdkit import RDConfig

    path = os.path.join(RDConfig.RDContribDir, "SA_Score", "sascorer.py")
    if not os.path.isfile(path):
        raise RaekitError(f"rdkit's SA scorer is missing ({path}); reinstall rdkit from PyPI")
    spec = importlib.util.spec_from_file_location("sascorer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _molecule(smiles: str):
    # the grammar extra
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")  # invalid decodings are expected; rdkit would print each
    mol = Chem.MolFromSmiles(smiles) if smiles else None
    return mol if mol is not None and mol.GetNumAtoms() >= 1 else None


def is_valid_molecule(smiles: str) -> bool:
    """rdkit parses `smiles` into a molecule with at least one atom."""
    return _molecule(smiles) is not None


def molecule_terms(smiles: str) -> tuple[float, float, float] | None:
    """(logP, -SA, -ring penalty) of a valid molecule, None otherwise."""
    mol = _molecule(smiles)
    if mol is None:
        return None
    # the grammar extra
    from rdkit.Chem import Descriptors

    return Descriptors.MolLogP(mol), -_sascorer().calculateScore(mol), -float(ring_penalty(mol))


def ring_penalty(mol) -> int:
    """max(0, largest cycle - 6) over `networkx.cycle_basis` of the molecule's graph, as
    GrammarVAE computes it (a cycle basis, not RDKit's SSSR: they differ on bridged rings)."""
    # the grammar extra
    import networkx as nx
    from rdkit.Chem import rdmolops

    # Built from the adjacency matrix as GrammarVAE does: the basis depends on the edge order.
    cycles = nx.cycle_basis(nx.from_numpy_array(rdmolops.GetAdjacencyMatrix(mol)))
    return max(0, max(map(len, cycles), default=0) - 6)


def score_statistics(smiles) -> ScoreStats:
    """Standardisation statistics (population std) over the valid molecules of `smiles`."""
    terms = np.array([t for t in map(molecule_terms, smiles) if t is not None], dtype=float)
    if len(terms) < 2:
        raise RaekitError("score statistics need at least two valid molecules")
    mean, std = terms.mean(0), terms.std(0)
    std = np.where(std > 0, std, 1.0)  # a constant term (e.g. no large rings) stays unscaled
    return ScoreStats(mean[0], std[0], mean[1], std[1], mean[2], std[2])


def penalized_logp(smiles: str, stats: ScoreStats = ZINC250K_STATS) -> float | None:
    """Standardised logP - SA - ring penalty (GrammarVAE's target); None if invalid."""
    terms = molecule_terms(smiles)
    if terms is None:
        return None
    logp, neg_sa, neg_cycle = terms
    return float(
        (logp - stats.logp_mean) / stats.logp_std
        + (neg_sa - stats.sa_mean) / stats.sa_std
        + (neg_cycle - stats.cycle_mean) / stats.cycle_std
    )
