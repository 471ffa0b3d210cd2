"""GrammarVAE's rules behind Figure 2: expression validity, one item written several ways, the
exact GP's subsample and the GP's quality per iteration."""

from __future__ import annotations

import numpy as np
import pytest

from raekit.bo import bayesian as bo
from raekit.bo.gp import KEEP_BEST, _subsample, describe_training
from raekit.grammar.scores import is_valid_expression, parses_as_expression
from raekit.paper.figure2_tables import distinct_top


@pytest.mark.parametrize(
    "expression, valid",
    [
        ("x+1", True),
        ("2/x", False),  # parses, but divides by zero at x = 0
        ("1/sin(x)", False),
        ("sin(x)/(x*2)", False),  # 0/0
        ("exp(exp(exp(3)))", True),  # overflow is not an error for GrammarVAE
        ("1/3+x+sin(x*x)", True),
        ("x*)", False),
    ],
)
def test_expression_validity_is_grammarvaes(expression, valid):
    assert is_valid_expression(expression) is valid
    if expression == "2/x":
        assert parses_as_expression(expression)  # raekit's former rule let it through


def test_distinct_top_drops_one_function_written_three_ways():
    top = [["1*1+(x)+sin(2+2)", 0.40], ["x*1+1+sin(2+2)", 0.40], ["x/1+1+sin(2+2)", 0.40]]
    assert distinct_top("expressions", top) == [top[0]]
    smiles = [["CCCCc1ccccc1", 2.91], ["CCc1ccc(cc1)", 2.49], ["CCc1ccccc1", 2.48]]
    assert distinct_top("molecules", smiles) == smiles[:2]  # one ethylbenzene


def test_the_exact_gps_subsample_keeps_the_best_codes_and_the_acquisitions():
    rng = np.random.default_rng(0)
    y = rng.normal(size=5000)
    rows = _subsample(y, 1000, keep_last=30, seed=1)
    assert len(rows) == 1000 and len(set(rows)) == 1000
    best = np.argsort(y[:-30])[:KEEP_BEST]
    assert set(best) <= set(rows) and set(range(4970, 5000)) <= set(rows)
    assert np.array_equal(_subsample(y[:800], 1000, 0, 1), np.arange(800))
    assert "100 best-scoring" in describe_training("exact", 5000)
    assert describe_training("sparse", 5000) == "sparse GP (500 inducing points) on all 5000 codes"


def test_bo_records_the_gp_quality_of_every_iteration():
    rng = np.random.default_rng(0)
    codes = rng.uniform(-1, 1, size=(60, 2))

    def decode(points):
        return [str(p) for p in points], (points**2).sum(1), np.ones(len(points), bool)

    result = bo.bayesian_optimisation(
        codes, (codes**2).sum(1), decode, iterations=3, batch=2, gp="exact", progress=False
    )
    assert len(result.gp_history) == 3 and result.gp_history[0] == result.gp_metrics
    assert all(np.isfinite(m["rmse"]) and np.isfinite(m["loglik"]) for m in result.gp_history)
    again = bo.result_from_dict(result.to_dict())
    assert again.gp_history == result.gp_history
