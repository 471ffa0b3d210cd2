"""Bayesian optimisation in latent space: GP fit, predictive density, the BO loop and its summaries."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import norm

from raekit.bo import bayesian as bo
from raekit.bo.summary import best_of_runs, run_average, summarise_runs
from raekit.errors import RaekitError

pytestmark = pytest.mark.usefixtures("one_thread")


def smooth(x: np.ndarray) -> np.ndarray:
    return np.sin(3 * x[:, 0]) + np.cos(2 * x[:, 1])


def test_exact_gp_recovers_smooth_function(rng):
    x = rng.uniform(-1, 1, size=(160, 2))
    y = smooth(x) + 0.01 * rng.normal(size=160)
    model = bo.fit_gp(x[:120], y[:120], kind="exact")
    metrics = bo.evaluate_gp(model, x[120:], y[120:])
    assert metrics["rmse"] < 0.1 * y[120:].std()
    assert metrics["loglik"] > 0.0  # sharp and well calibrated on an almost noiseless function


def test_sparse_gp_recovers_smooth_function(rng):
    x = rng.uniform(-1, 1, size=(160, 2))
    y = smooth(x) + 0.01 * rng.normal(size=160)
    model = bo.fit_gp(x[:120], y[:120], kind="sparse", inducing=40)
    assert bo.evaluate_gp(model, x[120:], y[120:])["rmse"] < 0.3 * y[120:].std()


def test_sparse_gp_trains_on_minibatches_beyond_one_batch(rng, monkeypatch):
    # More codes than one minibatch: Adam over minibatches (GrammarVAE's training), no L-BFGS.
    import botorch.fit

    monkeypatch.setattr(botorch.fit, "fit_gpytorch_mll", lambda *a, **k: pytest.fail("L-BFGS"))
    x = rng.uniform(-1, 1, size=(1400, 2))
    y = smooth(x) + 0.01 * rng.normal(size=1400)
    model = bo.fit_gp(x[:1200], y[:1200], kind="sparse", inducing=30, minibatch=300, epochs=40)
    assert bo.evaluate_gp(model, x[1200:], y[1200:])["rmse"] < 0.3 * y[1200:].std()


def test_gp_accepts_a_constant_code_dimension(rng):
    x = np.column_stack([rng.uniform(-1, 1, size=(120, 2)), np.full(120, 0.5)])
    for kind in ("exact", "sparse"):
        model = bo.fit_gp(x[:100], smooth(x[:100]), kind=kind, inducing=20)
        metrics = bo.evaluate_gp(model, x[100:], smooth(x[100:]))
        assert metrics["rmse"] < 0.5 * smooth(x[100:]).std()


def test_sparse_gp_never_builds_the_n_by_n_kernel(rng, monkeypatch):
    # The paper's protocol fits 90k expression codes: an n x n kernel would need 65 GB.
    from gpytorch.kernels import RBFKernel

    largest = []
    forward = RBFKernel.forward

    def recording(self, x1, x2, diag=False, **kwargs):
        largest.append(x1.shape[-2] * (1 if diag else x2.shape[-2]))
        return forward(self, x1, x2, diag=diag, **kwargs)

    monkeypatch.setattr(RBFKernel, "forward", recording)
    x = rng.uniform(-1, 1, size=(2000, 2))
    model = bo.fit_gp(x, smooth(x), kind="sparse", inducing=30, maxiter=3)
    bo.evaluate_gp(model, x[:50], smooth(x[:50]))
    assert largest and max(largest) <= 2000 * 30


def _kernel_by_hand(model, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The fitted RBF kernel (optionally scaled) written out in numpy."""
    from gpytorch.kernels import RBFKernel, ScaleKernel

    kernel, scale = model.covar_module, 1.0
    if isinstance(kernel, ScaleKernel):
        kernel, scale = kernel.base_kernel, float(kernel.outputscale.detach())
    assert isinstance(kernel, RBFKernel)
    ls = kernel.lengthscale.detach().numpy().reshape(-1)
    sq = (((a[:, None, :] - b[None, :, :]) / ls) ** 2).sum(-1)
    return scale * np.exp(-0.5 * sq)


def test_evaluate_gp_matches_hand_posterior(rng):
    x, xt = rng.uniform(-2, 3, size=(14, 2)), rng.uniform(-2, 3, size=(6, 2))
    y, yt = 5 + 3 * smooth(x) + 0.2 * rng.normal(size=14), 5 + 3 * smooth(xt)
    model = bo.fit_gp(x, y, kind="exact")
    # Normalize / Standardize by hand from the training data.
    lo, hi = x.min(0), x.max(0)
    xn, xtn = (x - lo) / (hi - lo), (xt - lo) / (hi - lo)
    mu, sd = y.mean(), y.std(ddof=1)
    ys = (y - mu) / sd
    c = float(model.mean_module.constant.detach())
    noise = float(model.likelihood.noise.detach())
    k = _kernel_by_hand(model, xn, xn) + noise * np.eye(len(x))
    ks = _kernel_by_hand(model, xtn, xn)
    mean_s = c + ks @ np.linalg.solve(k, ys - c)
    var_s = (
        np.diag(_kernel_by_hand(model, xtn, xtn))
        - np.einsum("ij,ji->i", ks, np.linalg.solve(k, ks.T))
        + noise
    )
    mean, var = mu + sd * mean_s, sd**2 * var_s
    got = bo.evaluate_gp(model, xt, yt)
    assert got["loglik"] == pytest.approx(norm.logpdf(yt, mean, np.sqrt(var)).mean(), rel=1e-6)
    assert got["rmse"] == pytest.approx(np.sqrt(((mean - yt) ** 2).mean()), rel=1e-6)


def quadratic_problem(seed: int):
    """Shifted quadratic on [-2, 2]^3 (lower is better) with 30 random scored codes."""
    centre = np.array([0.9, -0.7, 0.4])

    def f(z):
        return ((z - centre) ** 2).sum(1)

    codes = np.random.default_rng(seed).uniform(-2, 2, size=(30, 3))
    return f, codes, f(codes)


def test_bo_beats_random_search_on_quadratic():
    bo_best, random_best = [], []
    for seed in range(3):
        f, codes, scores = quadratic_problem(seed)

        def decode(p, f=f):
            return ([str(r) for r in p.round(3)], f(p), np.ones(len(p), bool))

        result = bo.bayesian_optimisation(
            codes, scores, decode, iterations=3, batch=4, seed=seed, gp="exact", progress=False
        )
        assert len(result.rounds) == 3 and result.fraction_valid == 1.0
        bo_best.append(result.top(1)[0][1])
        lo, hi = codes.min(0), codes.max(0)  # same box and 12 evaluations, drawn at random
        random_pts = np.random.default_rng(100 + seed).uniform(lo, hi, size=(12, 3))
        random_best.append(f(random_pts).min())
    assert np.median(bo_best) < np.median(random_best)
    assert np.median(bo_best) < 0.1  # near the true minimum 0


def _recording_fit(monkeypatch):
    calls = []
    real = bo.fit_gp

    def fit(train_x, train_y, **kw):
        calls.append((np.array(train_x), np.array(train_y)))
        return real(train_x, train_y, **kw)

    monkeypatch.setattr(bo, "fit_gp", fit)
    return calls


def _half_invalid(points):
    valid = points[:, 0] > np.median(points[:, 0])  # about half decode to nothing useful
    return [str(p) for p in points], (points**2).sum(1), valid


@pytest.mark.parametrize("policy", ["skip", "worst"])
def test_invalid_points_policy(monkeypatch, rng, policy):
    calls = _recording_fit(monkeypatch)
    codes = rng.uniform(-1, 1, size=(30, 2))
    scores = (codes**2).sum(1)
    result = bo.bayesian_optimisation(
        codes,
        scores,
        _half_invalid,
        iterations=2,
        batch=4,
        invalid=policy,
        gp="exact",
        progress=False,
    )
    valid = result.rounds[0]["valid"]
    assert 0 < valid.sum() < 4 and np.isnan(result.rounds[0]["scores"][~valid]).all()
    (_, y0), (_, y1) = calls  # initial fit, refit after iteration 1 (none after the last)
    added = y1[len(y0) :]
    if policy == "skip":
        assert len(added) == valid.sum()
        np.testing.assert_allclose(added, (result.rounds[0]["points"][valid] ** 2).sum(1))
    else:  # the worst score of all the data, held-out split included, as GrammarVAE's max(y)
        assert len(added) == 4
        np.testing.assert_allclose(added[~valid], scores.max())
    everything = [v for r in result.rounds for v in r["valid"]]
    assert result.fraction_valid == pytest.approx(np.mean(everything))
    as_json = json.loads(json.dumps(result.to_dict()))
    assert as_json["rounds"][0]["scores"][int(np.argmin(valid))] is None


def test_bo_data_grows_by_the_batch_with_invalid_proposals(monkeypatch, rng, capsys):
    calls = _recording_fit(monkeypatch)
    codes = rng.uniform(-1, 1, size=(40, 2))
    invalid_score = np.log(1001)
    result = bo.bayesian_optimisation(
        codes,
        (codes**2).sum(1),
        _half_invalid,
        iterations=4,
        batch=3,
        gp="exact",
        invalid_score=invalid_score,
        sign=-1.0,
    )
    sizes = [len(y) for _, y in calls]
    assert sizes == [
        36,
        39,
        42,
        45,
    ]  # 90% of 40, then + batch per iteration (no fit after the last)
    for i, (x, y) in enumerate(calls[1:]):
        r = result.rounds[i]
        np.testing.assert_array_equal(x[-3:], r["points"])
        np.testing.assert_allclose(
            y[-3:], np.where(r["valid"], (r["points"] ** 2).sum(1), invalid_score)
        )
    assert 0 < sum(int(r["valid"].sum()) for r in result.rounds) < 12
    # The progress line shows scores with the caller's sign: -1 turns the minimum into a maximum.
    first = result.rounds[0]
    best = -np.nanmin(first["scores"])
    rounds = [line for line in capsys.readouterr().err.splitlines() if " best " in line]
    assert f"best {best:.4g}" in rounds[0]


def test_decoder_length_mismatch_is_a_user_error(rng):
    codes = rng.uniform(-1, 1, size=(20, 2))

    def bad(p):
        return (["a"], np.zeros(1), np.ones(1, bool))

    with pytest.raises(RaekitError, match="decode_and_score returned 1 items"):
        bo.bayesian_optimisation(codes, codes.sum(1), bad, iterations=1, batch=2, progress=False)
    with pytest.raises(RaekitError, match="did you mean 'exact'"):
        bo.fit_gp(codes, codes.sum(1), kind="exakt")
    with pytest.raises(RaekitError, match="the GP needs at least 3 scored codes, got 2"):
        bo.fit_gp(codes[:2], codes[:2, 0])
    with pytest.raises(RaekitError, match="90/10 split needs at least 10 scored codes, got 9"):
        bo.bayesian_optimisation(codes[:9], codes[:9, 0], bad, progress=False)
    with pytest.raises(RaekitError, match=r"\(n, d\) and scores of shape \(n,\)"):
        bo.fit_gp(codes, codes)


def test_most_frequent_valid_by_hand():
    checked = []

    def is_valid(s):
        checked.append(s)
        return s != "x"

    decodings = [["a", "b", "b", "x", "x", "x"], ["x", "x"], ["c", "d", "d", "c"], [None, "e"]]
    assert bo.most_frequent_valid(decodings, is_valid) == ["b", None, "c", "e"]
    assert sorted(checked) == ["a", "b", "c", "d", "e", "x"]  # one check per distinct string


def _result(items, scores, valid, invalid_score=5.0):
    return bo.BOResult(
        rounds=[
            {
                "points": np.zeros((len(items), 2)),
                "items": items,
                "scores": np.array(scores),
                "valid": np.array(valid),
            }
        ],
        invalid_score=invalid_score,
    )


def test_summarise_runs_by_hand():
    r1 = _result(["a", "b", "c"], [1.0, np.nan, 3.0], [True, False, True])
    r2 = _result(["a", "d", "a"], [2.0, 0.5, 1.5], [True, True, True])
    got = summarise_runs([r1, r2], top=3)
    # GrammarVAE's per-run rule: r1 scored [1, 5 (invalid), 3] -> worst 5 out -> mean 2;
    # r2 scored [2, 0.5, 1.5] -> its worst, the valid 2, is left out too -> mean 1.
    assert got["fraction_valid"] == pytest.approx((2 / 3 + 1) / 2)
    assert got["mean_score"] == pytest.approx((2.0 + 1.0) / 2)
    assert got["std_score"] == pytest.approx(abs(2.0 - 1.0) / np.sqrt(2))
    # GrammarVAE's ±: population std (0.5) / sqrt(2 runs)
    assert got["se_score"] == pytest.approx(0.5 / np.sqrt(2))
    assert got["score_seeds"] == 2 and got["seeds_without_score"] == []
    # The plain mean over valid proposals: 2.0 and 4/3.
    assert got["mean_valid_score"] == pytest.approx((2.0 + 4 / 3) / 2)
    # GrammarVAE's top: each run's best (a 1.0, d 0.5), best first; only two runs, two items
    assert got["top"] == [["d", 0.5], ["a", 1.0]]
    assert r2.top(5) == [("d", 0.5), ("a", 1.5)]
    assert got["best_so_far"] == [[1.0], [0.5]]


def test_top_takes_each_runs_best_and_drops_repeats():
    runs = [
        _result(["x*1", "b"], [0.4, 0.9], [True, True]),
        _result(["1*x", "c"], [0.4, 0.8], [True, True]),  # the same function, the same score
        _result(["e", "f"], [0.7, 0.6], [True, True]),
        _result(["g", "h"], [0.6, 2.0], [True, True]),  # 0.6 again: GrammarVAE drops it
        _result(["i"], [0.65], [True]),
    ]
    same = {"x*1": "x", "1*x": "x"}
    got = best_of_runs(runs, 3, same=lambda item: same.get(item, item))
    assert got == [["x*1", 0.4], ["f", 0.6], ["i", 0.65]]


def test_the_invalid_fill_never_enters_an_average_and_empty_runs_are_reported():
    # Molecules: a fill (5) better than a valid score (9): the fill must not be averaged.
    fill_better = _result(
        ["a", "b", "c", "d"], [1.0, np.nan, np.nan, 9.0], [True, False, False, True]
    )
    nothing = _result(["x", "y"], [np.nan, np.nan], [False, False])
    got = summarise_runs([fill_better, nothing, fill_better])
    # worst of the run is the valid 9, left out; the fills (5) stay out: the average is 1
    assert got["mean_score"] == pytest.approx(1.0)
    assert got["score_seeds"] == 2 and got["seeds_without_score"] == [1]
    assert got["best_so_far"][1] == [None]


def test_summarise_runs_worst_over_all_runs():
    # Expressions: one worst over all runs (5, r1's invalid), so r2 keeps its own worst.
    r1 = _result(["a", "b", "c"], [1.0, np.nan, 3.0], [True, False, True])
    r2 = _result(["a", "d", "a"], [2.0, 0.5, 1.5], [True, True, True])
    got = summarise_runs([r1, r2], worst_over="all")
    assert got["mean_score"] == pytest.approx((2.0 + 4 / 3) / 2)
    # A run of nothing but the worst score has no average and is left out, and said so.
    r3 = _result(["x", "y"], [np.nan, 5.0], [False, True])
    assert np.isnan(run_average(r3, 5.0))
    got = summarise_runs([r1, r3])
    assert got["mean_score"] == pytest.approx(2.0) and got["seeds_without_score"] == [1]
    with pytest.raises(RaekitError, match="worst-score scope"):
        summarise_runs([r1], worst_over="seed")


def test_bo_result_records_the_invalid_fill(monkeypatch, rng):
    _recording_fit(monkeypatch)
    codes = rng.uniform(-1, 1, size=(30, 2))
    result = bo.bayesian_optimisation(
        codes,
        (codes**2).sum(1),
        _half_invalid,
        iterations=1,
        batch=4,
        gp="exact",
        invalid_score=7.0,
        progress=False,
    )
    r = result.rounds[0]
    np.testing.assert_allclose(result.observed(), np.where(r["valid"], r["scores"], 7.0))


def test_a_finished_seed_is_kept_and_reused_unless_damaged_or_different(tmp_path, capsys):
    from raekit.bo.optimise import SEED_DIR, _seed_run

    ran = []

    def run(seed):
        ran.append(seed)
        return _result(["a", "b"], [1.0, np.nan], [True, False], invalid_score=9.0)

    protocol = {"batch": 2, "model": "abc"}
    first = _seed_run(tmp_path, 3, protocol, run)
    again = _seed_run(tmp_path, 3, protocol, run)
    assert ran == [3] and "reusing seed 3" in capsys.readouterr().err
    np.testing.assert_array_equal(again.observed(), first.observed())  # [1, 9]
    assert again.top() == first.top() == [("a", 1.0)]
    _seed_run(tmp_path, 3, {**protocol, "model": "retrained"}, run)
    assert ran == [3, 3] and "other settings or weights" in capsys.readouterr().err
    path = tmp_path / SEED_DIR / "seed3.json"
    for damage in ("{not json", '{"protocol": {"batch": 2, "model": "abc"}, "result": {}}'):
        path.write_text(damage.replace("abc", "retrained"))
        _seed_run(tmp_path, 3, {**protocol, "model": "retrained"}, run)
        assert "is damaged; running seed 3 again" in capsys.readouterr().err
    assert ran == [3, 3, 3, 3]
