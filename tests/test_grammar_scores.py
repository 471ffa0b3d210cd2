import importlib.util
import os

import numpy as np
import pytest
from rdkit import Chem, RDConfig
from rdkit.Chem import Crippen

from raekit.grammar.scores import (
    INVALID_EXPRESSION_SCORE,
    ZINC250K_STATS,
    ScoreStats,
    evaluate_expression,
    expression_score,
    is_valid_molecule,
    molecule_terms,
    parses_as_expression,
    penalized_logp,
    ring_penalty,
    score_statistics,
)
from test_grammar_samples import SMILES

X = np.linspace(-10, 10, 1000)
Y = 1 / 3 + X + np.sin(X * X)


def _hand_score(values):
    return np.log(1 + np.mean(np.minimum((values - Y) ** 2, 1000)))


def test_target_expression_scores_zero():
    assert expression_score("1/3+x+sin(x*x)") == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    "expression, values",
    [
        ("x", X),
        ("x+1*2", X + 2),
        ("2*x+1", 2 * X + 1),
        ("x/2/2", X / 4),
        ("1+2/x*x", 1 + 2 / X * X),
        ("sin(x)*exp(1)", np.sin(X) * np.e),
        ("(x+1)*3", (X + 1) * 3),
        ("exp(sin(x*x))", np.exp(np.sin(X * X))),
    ],
)
def test_expression_scores_by_hand(expression, values):
    np.testing.assert_allclose(evaluate_expression(expression), values, rtol=1e-12)
    assert expression_score(expression) == pytest.approx(_hand_score(values), rel=1e-12)


def test_error_is_clipped_at_1000():
    # exp(x) reaches 2.2e4 on the grid: the clip changes the score.
    assert expression_score("exp(x)") == pytest.approx(_hand_score(np.exp(X)))
    assert expression_score("exp(x)") < np.log(1 + 1000)


@pytest.mark.parametrize("expression", ["sin(", "x-1", "", "x+"])
def test_expressions_outside_the_grammar(expression):
    assert not parses_as_expression(expression) and evaluate_expression(expression) is None
    assert expression_score(expression) == INVALID_EXPRESSION_SCORE == pytest.approx(np.log(1001))


def test_overflow_is_capped_per_point_not_invalid():
    # exp(exp(exp(x))) overflows float64 where exp(exp(x)) > log(max float) = 709.78, i.e. for
    # x > log(log(709.78)) = 1.8817: those points cost 1000 each, the others their capped error.
    over = np.log(np.log(np.log(np.finfo(np.float64).max))) < X
    safe = np.exp(np.exp(np.exp(np.where(over, 0.0, X))))
    got = evaluate_expression("exp(exp(exp(x)))")
    assert parses_as_expression("exp(exp(exp(x)))") and 0 < over.sum() < len(X)
    assert np.isinf(got[over]).all() and np.allclose(got[~over], safe[~over])
    with np.errstate(over="ignore"):  # squares near x = 1.88 overflow to inf: capped too
        error = np.where(over, 1000.0, np.minimum((safe - Y) ** 2, 1000))
    assert expression_score("exp(exp(exp(x)))") == pytest.approx(np.log(1 + error.mean()))
    assert expression_score("exp(exp(exp(x)))") < np.log(1001)
    # 1/inf = 0 where it overflows: a finite, ordinary score.
    assert expression_score("1/exp(exp(exp(x)))") == pytest.approx(
        _hand_score(np.where(over, 0.0, 1 / safe))
    )


def test_division_by_zero_gives_inf_and_nan_scores_worst():
    np.testing.assert_array_equal(evaluate_expression("1/x", np.array([0.0, 2.0])), [np.inf, 0.5])
    assert np.isnan(evaluate_expression("x/x", np.array([0.0, 1.0]))[0])
    # inf/inf is NaN where exp(exp(exp(x))) overflows: the mean is NaN, so the whole expression
    # scores log(1 + 1000) although it parses.
    nan = "exp(exp(exp(x)))/exp(exp(exp(x)))"
    assert parses_as_expression(nan) and np.isnan(evaluate_expression(nan)).any()
    assert expression_score(nan) == INVALID_EXPRESSION_SCORE


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
    expected = (
        (logp - 2.4570953396190123) / 1.434324401111988
        + (-sa + 3.0525811293166134) / 0.8335207024513095
        + (-3 + 0.0485696876403053) / 0.2860212110245455
    )
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


@pytest.mark.parametrize(
    "smiles, cycles, penalty",
    [
        # Adamantane: 10 atoms, 12 bonds -> 12 - 10 + 1 = 3 basis cycles. The spanning tree built
        # from atom 0 leaves two 6-cycles and one 8-cycle going round two cages: penalty 8 - 6 = 2
        # (RDKit's SSSR has four 6-rings: 0).
        ("C1C2CC3CC1CC(C2)C3", [6, 6, 8], 2),
        # Cocaine's tropane: 8 ring atoms, 9 ring bonds -> 2 cycles (6 + 7 through the bridge
        # nitrogen), plus the phenyl 6-ring; SSSR says 5 + 6 + 6: penalty 7 - 6 = 1.
        ("CN1C2CCC1C(C(C2)OC(=O)c3ccccc3)C(=O)OC", [6, 6, 7], 1),
        # A 14-membered macrocycle: one cycle of 14 atoms, penalty 8, whichever basis.
        ("O=C1CCCCCCCCCCCCO1", [14], 8),
        ("CCO", [], 0),
    ],
)
def test_ring_penalty_from_cycle_basis_by_hand(smiles, cycles, penalty):
    mol = Chem.MolFromSmiles(smiles)
    bonds, atoms = mol.GetNumBonds(), mol.GetNumAtoms()
    assert len(cycles) == bonds - atoms + 1  # a cycle basis has E - V + 1 cycles (connected)
    assert ring_penalty(mol) == penalty == max(0, max(cycles, default=0) - 6)
    assert molecule_terms(smiles)[2] == -penalty


def test_zinc250k_standardisation_of_benzoic_acid_by_hand():
    # Benzoic acid: Crippen logP 1.3848 (RDKit), one 6-ring (no penalty). SA from RDKit's scorer.
    smiles = "OC(=O)c1ccccc1"
    logp = Crippen.MolLogP(Chem.MolFromSmiles(smiles))
    assert logp == pytest.approx(1.3848, abs=1e-4)
    sa = _sascorer().calculateScore(Chem.MolFromSmiles(smiles))
    by_hand = (
        (1.3848 - 2.4570953396190123) / 1.434324401111988
        + (-sa + 3.0525811293166134) / 0.8335207024513095
        + (0 + 0.0485696876403053) / 0.2860212110245455
    )
    assert penalized_logp(smiles) == pytest.approx(by_hand, abs=1e-4)


def test_molecule_objective_standardises_with_zinc250k_by_default():
    from raekit.grammar.sequence_task import sequence_task

    molecules = sequence_task("molecules").objective
    default, own = molecules(SMILES), molecules(SMILES, "data")
    assert default.stats == ZINC250K_STATS.to_dict() and default.invalid_score is None
    assert own.stats == score_statistics(SMILES).to_dict()
    assert default.score(SMILES[0]) == pytest.approx(-penalized_logp(SMILES[0]))
    assert own.score(SMILES[0]) == pytest.approx(
        -penalized_logp(SMILES[0], score_statistics(SMILES))
    )
    expressions = sequence_task("expressions").objective([])
    assert expressions.invalid_score == INVALID_EXPRESSION_SCORE and expressions.valid("x*2")
    assert not expressions.valid("x*")
