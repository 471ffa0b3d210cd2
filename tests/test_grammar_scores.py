import importlib.util
import os

import numpy as np
import pytest
from rdkit import Chem, RDConfig
from rdkit.Chem import Crippen

from test_grammar_samples import SMILES
from raekit.grammar.scores import (INVALID_EXPRESSION_SCORE, ZINC250K_STATS, ScoreStats,
                                   evaluate_expression, expression_score, is_valid_molecule,
                                   molecule_terms, penalized_logp, score_statistics)

X = np.linspace(-10, 10, 1000)
Y = 1 / 3 + X + np.sin(X * X)


def _hand_score(values):
    return np.log(1 + np.mean(np.minimum((values - Y) ** 2, 1000)))


def test_target_expression_scores_zero():
    assert expression_score("1/3+x+sin(x*x)") == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("expression, values", [
    ("x", X), ("x+1*2", X + 2), ("2*x+1", 2 * X + 1), ("x/2/2", X / 4), ("1+2/x*x", 1 + 2 / X * X),
    ("sin(x)*exp(1)", np.sin(X) * np.e), ("(x+1)*3", (X + 1) * 3),
    ("exp(sin(x*x))", np.exp(np.sin(X * X))),
])
def test_expression_scores_by_hand(expression, values):
    np.testing.assert_allclose(evaluate_expression(expression), values, rtol=1e-12)
    assert expression_score(expression) == pytest.approx(_hand_score(values), rel=1e-12)


def test_error_is_clipped_at_1000():
    # exp(x) reaches 2.2e4 on the grid: the clip changes the score.
    assert expression_score("exp(x)") == pytest.approx(_hand_score(np.exp(X)))
    assert expression_score("exp(x)") < np.log(1 + 1000)


@pytest.mark.parametrize("expression", ["exp(exp(exp(x)))", "1/exp(exp(exp(x)))", "sin(", "x-1",
                                        "", "x+"])
def test_invalid_expressions(expression):
    assert expression_score(expression) == INVALID_EXPRESSION_SCORE == pytest.approx(np.log(1001))


def test_division_by_zero_is_invalid():
    assert evaluate_expression("1/x", np.array([0.0, 1.0])) is None
    np.testing.assert_allclose(evaluate_expression("1/x", np.array([2.0])), [0.5])


def _sascorer():
    path = os.path.join(RDConfig.RDContribDir, "SA_Score", "sascorer.py")
    spec = importlib.util.spec_from_file_location("sa_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_penalized_logp_by_hand():
    smiles = "CC1CCCCCCCC1C(=O)O"  # one 9-ring: ring penalty 3
    mol = Chem.MolFromSmiles(smiles)
    logp, sa = Crippen.MolLogP(mol), _sascorer().calculateScore(mol)
    s = ZINC250K_STATS
    expected = ((logp - 2.4570953396190123) / 1.434324401111988
                + (-sa + 3.0525811293166134) / 0.8335207024513095
                + (-3 + 0.0485696876403053) / 0.2860212110245455)
    assert molecule_terms(smiles) == pytest.approx((logp, -sa, -3.0))
    assert penalized_logp(smiles) == pytest.approx(expected)
    assert s.logp_std == 1.434324401111988
    assert molecule_terms("c1ccccc1")[2] == 0.0


def test_score_statistics_match_numpy():
    terms = np.array([molecule_terms(s) for s in SMILES])
    stats = score_statistics(SMILES + ["not a molecule"])
    np.testing.assert_allclose([stats.logp_mean, stats.sa_mean, stats.cycle_mean], terms.mean(0))
    np.testing.assert_allclose([stats.logp_std, stats.sa_std, stats.cycle_std], terms.std(0))
    assert ScoreStats(**stats.to_dict()) == stats
    own = penalized_logp(SMILES[0], stats)
    assert own == pytest.approx(float(((terms[0] - terms.mean(0)) / terms.std(0)).sum()))


@pytest.mark.parametrize("smiles", ["", "C1CC", "c1cccc1", "CC(", "[Xe"])
def test_invalid_molecules(smiles):
    assert not is_valid_molecule(smiles)
    assert penalized_logp(smiles) is None


def test_valid_molecules():
    assert all(is_valid_molecule(s) for s in SMILES)
