"""The statistics of the claim checks: Welch's statistic and p-values against scipy, Holm by hand,
Spearman against scipy, and the false-positive rates by simulation on equal means."""

import numpy as np
import pytest
from scipy import stats

from raekit.paper.claim_rules import CLAIMS
from raekit.paper.claims import FAILS, HOLDS, evaluate_claim
from raekit.paper.stats import average_ranks, holm, spearman, welch_p


def test_welch_statistic_and_p_values_equal_scipys_with_conservative_freedom(rng):
    for na, nb in ((3, 3), (3, 5), (6, 4)):
        a, b = rng.normal(10, 1, na), rng.normal(11, 3, nb)
        t = stats.ttest_ind(b, a, equal_var=False).statistic  # "a lower than b" is t > 0
        better, worse = welch_p(a, b)
        assert better == pytest.approx(stats.t.sf(t, min(na, nb) - 1), rel=1e-10)
        assert worse == pytest.approx(stats.t.sf(-t, min(na, nb) - 1), rel=1e-10)
        # "a below 1.1 b" is the same test on b scaled by 1.1; higher-is-better flips the sign
        t_scaled = stats.ttest_ind(1.1 * b, a, equal_var=False).statistic
        assert welch_p(a, b, 1.1)[0] == pytest.approx(stats.t.sf(t_scaled, min(na, nb) - 1))
        assert welch_p(a, b, lower_is_better=False) == pytest.approx((worse, better))


def test_welch_needs_three_seeds_a_side_and_handles_no_spread():
    assert welch_p([1.0, 2.0], [5.0, 6.0, 7.0]) is None
    assert welch_p([1.0] * 3, [2.0] * 3) == (0.0, 1.0)
    assert welch_p([2.0] * 3, [2.0] * 3) == (1.0, 1.0)


def test_holm_against_a_hand_computation():
    # sorted: 0.005 <= 0.05/4, 0.01 <= 0.05/3, 0.03 > 0.05/2: stop
    assert holm([0.01, 0.04, 0.03, 0.005]) == [True, False, False, True]
    assert holm([0.04, None, 0.01]) == [True, False, True]  # two tested: 0.01 <= .025, .04 <= .05
    assert holm([None, None]) == [False, False] and holm([]) == []


def test_spearman_equals_scipys_with_and_without_ties(rng):
    for _ in range(20):
        x = rng.integers(0, 5, 9).astype(float)  # ties
        y = x + rng.normal(0, 2, 9)
        assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)
    assert spearman([1, 2, 3], [30, 20, 10]) == pytest.approx(-1.0)
    assert spearman([1, 1, 1], [1, 2, 3]) is None and spearman([1], [2]) is None
    assert list(average_ranks([3.0, 1.0, 3.0, 2.0])) == [3.5, 1.0, 3.5, 2.0]


@pytest.mark.parametrize(
    "na,nb,sa,sb", [(3, 3, 1, 1), (3, 3, 1, 4), (3, 5, 3, 1), (5, 5, 1, 2), (3, 4, 1, 1)]
)
def test_a_part_is_falsely_called_better_at_most_5_percent_on_equal_means(na, nb, sa, sb):
    rng = np.random.default_rng(na * 100 + nb * 10 + sb)
    draws = 2000
    a, b = rng.normal(0, sa, (draws, na)), rng.normal(0, sb, (draws, nb))
    false = sum(welch_p(x, y)[0] <= 0.05 for x, y in zip(a, b))
    assert false / draws <= 0.05


def _equal_means_cells(rng, seeds=3):
    """Eight models whose GMM and N FIDs have equal means (claim 1's parts all null)."""
    models = ("vae", "cv-vae", "wae", "rae-gp", "rae-l2", "rae-sn", "rae", "ae")
    return {
        m: {"GMM": list(rng.normal(20, 2, seeds)), "N": list(rng.normal(20, 2, seeds))}
        for m in models
    }


def test_a_claim_is_falsely_decided_at_most_5_percent_on_equal_means():
    """Claim 1 (every model's GMM better than its N) with all eight parts on equal means: a false
    "does not hold" (Holm over the parts) and a false "holds" each at most 5%."""
    rng = np.random.default_rng(7)
    claim = next(c for c in CLAIMS if c.key == "1")
    draws = 400
    outcomes = [evaluate_claim(claim, _equal_means_cells(rng), "x", False)[0] for _ in range(draws)]
    assert outcomes.count(FAILS) / draws <= 0.05
    assert outcomes.count(HOLDS) / draws <= 0.05
    # one part only: its false "does not hold" is a single test at 5%
    one = [
        evaluate_claim(claim, {"vae": _equal_means_cells(rng)["vae"]}, "x", False)[0]
        for _ in range(draws)
    ]
    assert one.count(FAILS) / draws <= 0.05 and one.count(HOLDS) / draws <= 0.05


def _results_from_paper(dataset, transform):
    """results.json runs whose seed values are transform(the paper's Table 1 number), 3 seeds."""
    from raekit.paper.reported import TABLE1

    runs = {}
    for model, values in TABLE1[dataset].items():
        fid = dict(zip(("rec", "gaussian", "gmm", "interp"), values))
        if fid["gmm"] is None:
            fid["gmm"] = 1.0
        runs[model] = {
            str(s): {
                "columns": {"N": "gaussian", "GMM": "gmm"},
                "fid": {k: transform(v) + s for k, v in fid.items()},
            }
            for s in range(3)
        }
    return {"runs": runs, "dataset": dataset}


def test_orderings_against_the_papers_by_spearman():
    from raekit.paper.orderings import column_orderings, describe
    from raekit.paper.reported import TABLE1

    same = column_orderings(_results_from_paper("mnist", lambda v: 3 * v), "mnist")
    assert [o["spearman"] for o in same] == pytest.approx([1.0] * 4)
    assert describe(same[0]).endswith("the orderings agree.")
    assert [len(o["models"]) for o in same] == [8, 9, 8, 8]  # the 2sVAE's first-stage cells out
    flipped = column_orderings(_results_from_paper("mnist", lambda v: -v), "mnist")
    assert [o["spearman"] for o in flipped] == pytest.approx([-1.0] * 4)
    n = flipped[1]
    paper_n = [TABLE1["mnist"][m][1] for m in n["models"]]
    assert n["spearman"] == pytest.approx(stats.spearmanr([-v for v in paper_n], paper_n).statistic)
    assert "ae 1 (paper 9)" in describe(n) and "2svae 9 (paper 1)" in describe(n)
