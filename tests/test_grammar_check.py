"""raekit grammar-check: the Mahalanobis distance by hand, and a tiny run's check, BO seeds included."""

from __future__ import annotations

import json

import numpy as np
import pytest

from raekit.bo.check import check_run, mahalanobis, summary_line


def test_mahalanobis_by_hand(rng):
    codes = rng.normal(size=(200, 3)) @ np.array([[2.0, 0, 0], [0.5, 1, 0], [0, 0.3, 0.1]])
    points = rng.normal(size=(7, 3))
    centred = codes - codes.mean(0)
    precision = np.linalg.inv(centred.T @ centred / len(codes))  # maximum-likelihood covariance
    diff = points - codes.mean(0)
    expected = np.sqrt(np.einsum("ij,jk,ik->i", diff, precision, diff))
    np.testing.assert_allclose(mahalanobis(codes, points), expected, rtol=1e-10)


@pytest.mark.slow
def test_check_of_a_tiny_run_with_bo_seeds(tmp_path):
    from raekit import make_config, train
    from raekit.generation import encode_images
    from raekit.grammar.task import load_sequences
    from raekit.runs import load_run

    config = make_config("expressions", "grae", "tiny", epochs=1, max_rows=400)
    run = train(config, tmp_path / "run")
    model, config = load_run(run)
    data = load_sequences(config)
    test = encode_images(model, data.test[:20], desc=None)
    # BO "proposals" at the test codes themselves: their distance must equal the test codes'
    items = ["x", None, "sin(x)", None] + ["1"] * 16
    seeds = run / "bo-seeds"
    seeds.mkdir()
    rounds = [{"points": test.tolist(), "items": items, "scores": [0.0] * 20, "valid": []}]
    (seeds / "seed0.json").write_text(json.dumps({"protocol": {}, "result": {"rounds": rounds}}))

    report = check_run(run, n=20)

    assert report == json.loads((run / "check.json").read_text())
    assert report["reconstruction"]["n"] == report["gaussian_samples"]["n"] == 20
    assert 0 <= report["reconstruction"]["exact"] <= report["reconstruction"]["fraction_valid"] <= 1
    rec = report["reconstruction"]
    assert rec["exact"] <= rec["correct_prefix"] <= 1 and 0 <= rec["symbol_accuracy"] <= 1
    assert "per-symbol accuracy" in summary_line(report)
    assert report["distance"]["bo_proposals"] == pytest.approx(report["distance"]["test_codes"])
    assert report["bo_proposals"] == {
        "n": 20,
        "fraction_valid": 18 / 20,
        "mean_length": (1 + 6 + 16 * 1) / 18,
    }
    assert "BO proposals" in summary_line(report)
    # the same weights, settings and proposals: reused; one more BO seed: checked again
    assert check_run(run, n=20, reuse=True) == report
    (seeds / "seed1.json").write_text((seeds / "seed0.json").read_text())
    again = check_run(run, n=20, reuse=True)
    assert again["bo_proposals"]["n"] == 40 and again["settings"]["proposals"] == 40
