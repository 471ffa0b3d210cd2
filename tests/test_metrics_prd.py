"""PRD curves (Sajjadi et al. 2018) on hand-made histograms and clustered blobs; F-beta by hand."""

import numpy as np
import pytest

from raekit.errors import RaekitError
from raekit.metrics import prd, prd_f_beta
from raekit.metrics.prd import prd_from_histograms

MID = 500  # index of angle pi/4 (slope 1) among 1001 angles


def _blobs(rng, modes, n, dim=4, spread=0.3):
    """n points spread evenly over the given mode centres (one-hot * 10 along the first axes)."""
    centres = np.eye(dim)[list(modes)] * 10.0
    picks = np.arange(n) % len(modes)
    return centres[picks] + rng.normal(scale=spread, size=(n, dim))


def test_curve_from_histograms_matches_hand_loop():
    ev, ref = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])
    precision, recall = prd_from_histograms(ev, ref, num_angles=7)
    angles = np.linspace(1e-10, np.pi / 2 - 1e-10, 7)
    for k, angle in enumerate(angles):
        slope = np.tan(angle)
        p = sum(min(slope * r, e) for r, e in zip(ref, ev))
        assert precision[k] == pytest.approx(min(p, 1.0), abs=1e-12)
        assert recall[k] == pytest.approx(min(p / slope, 1.0), abs=1e-12)
    # Eval misses the third bin (half of the reference mass): recall never exceeds 1/2.
    assert recall.max() == pytest.approx(0.5, abs=1e-9) and precision.max() == pytest.approx(1.0)


def test_identical_distributions_are_balanced_at_one(rng):
    # One cluster per blob and the same count per blob in both sets: the histograms are equal.
    ref, ev = _blobs(rng, range(4), 400), _blobs(rng, range(4), 400)
    precision, recall = prd(ev, ref, num_clusters=4, num_runs=2)
    assert precision[MID] == pytest.approx(1.0) and recall[MID] == pytest.approx(1.0)
    assert prd_f_beta(precision, recall) == pytest.approx((1.0, 1.0))
    # With the default 20 clusters, sub-blob sampling noise costs only a little.
    precision, recall = prd(ev, ref, num_runs=2)
    assert precision[MID] > 0.85 and recall[MID] > 0.85


def test_disjoint_distributions_score_zero(rng):
    ref, ev = _blobs(rng, range(2), 300), _blobs(rng, [2, 3], 300)
    precision, recall = prd(ev, ref, num_runs=2)
    assert precision.max() < 0.02 and recall.max() < 0.02
    assert prd_f_beta(precision, recall) == pytest.approx((0.0, 0.0), abs=0.02)


def test_dropped_modes_lose_recall_but_keep_precision(rng):
    ref, ev = _blobs(rng, range(4), 400), _blobs(rng, [0, 1], 400)
    precision, recall = prd(ev, ref, num_runs=2)
    f8, f1_8 = prd_f_beta(precision, recall)
    assert precision.max() > 0.95 and f1_8 > 0.9  # everything generated is realistic
    assert recall.max() == pytest.approx(0.5, abs=0.05)  # half of the reference is never produced
    assert f8 < 0.6


def test_runs_are_reproducible_with_a_seed(rng):
    ref, ev = _blobs(rng, range(3), 150), _blobs(rng, range(3), 150)
    first, second = prd(ev, ref, num_runs=2, seed=3), prd(ev, ref, num_runs=2, seed=3)
    np.testing.assert_array_equal(first[0], second[0])


def test_f_beta_by_hand():
    p, r = np.array([0.9, 0.6, 0.2]), np.array([0.1, 0.5, 0.8])
    # F_2 = 5 p r / (4 p + r): 0.45/3.7, 1.5/2.9, 0.8/1.6; F_1/2 = 1.25 p r / (p/4 + r).
    f2, f_half = prd_f_beta(p, r, beta=2)
    assert f2 == pytest.approx(max(0.45 / 3.7, 1.5 / 2.9, 0.8 / 1.6))
    assert f_half == pytest.approx(max(0.1125 / 0.325, 0.375 / 0.65, 0.2 / 0.85))
    assert prd_f_beta(np.zeros(3), np.zeros(3)) == (0.0, 0.0)


@pytest.mark.parametrize(
    "ev, ref, kw, match",
    [
        (np.zeros((4, 2)), np.zeros((5, 2)), {}, "as many eval as reference"),
        (np.full((4, 2), np.nan), np.zeros((4, 2)), {}, "NaN or Inf"),
        (np.zeros((4, 2)), np.zeros((4, 3)), {}, "dimensions differ"),
        (np.zeros(4), np.zeros((4, 2)), {}, "2-D"),
        (np.zeros((4, 2)), np.zeros((4, 2)), {"num_angles": 2, "num_clusters": 2}, "num_angles"),
        (np.zeros((4, 2)), np.zeros((4, 2)), {"num_clusters": 9}, "num_clusters"),
        (np.zeros((4, 2)), np.zeros((4, 2)), {"num_runs": 0, "num_clusters": 2}, "num_runs"),
    ],
)
def test_bad_prd_inputs_are_errors(ev, ref, kw, match):
    with pytest.raises(RaekitError, match=match):
        prd(ev, ref, **kw)


def test_unbalanced_sets_allowed_when_asked(rng):
    precision, recall = prd(
        _blobs(rng, range(2), 60),
        _blobs(rng, range(2), 90),
        num_clusters=4,
        num_runs=1,
        enforce_balance=False,
    )
    assert precision.shape == recall.shape == (1001,) and precision[MID] > 0.9


@pytest.mark.parametrize(
    "p, r, beta, match",
    [
        (np.ones(3), np.ones(2), 8, "equal length"),
        (np.array([0.5, 1.2]), np.ones(2), 8, r"\[0, 1\]"),
        (np.ones(2), np.array([0.5, -0.1]), 8, r"\[0, 1\]"),
        (np.ones(2), np.ones(2), 0, "beta"),
    ],
)
def test_bad_f_beta_inputs_are_errors(p, r, beta, match):
    with pytest.raises(RaekitError, match=match):
        prd_f_beta(p, r, beta=beta)
