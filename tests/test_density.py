"""Ex-post densities against numpy, scipy and scikit-learn."""
import numpy as np
import pytest
from scipy import stats
from sklearn.mixture import GaussianMixture

from raekit.density import fit_density, load_density, make_density, save_density
from raekit.errors import RaekitError


def _mixture(rng, n=3000, d=3):
    centres = np.array([[0, 0, 0], [5, 5, 0], [-4, 3, 3]])[:, :d]
    labels = rng.integers(0, 3, n)
    return centres[labels] + rng.normal(size=(n, d)) * [1.0, 0.5, 2.0][:d]


def test_gaussian_recovers_numpy_mean_and_covariance(rng):
    x = rng.normal(size=(500, 4)) @ rng.normal(size=(4, 4)) + 3
    g = make_density("gaussian").fit(x)
    assert np.allclose(g.mean_, x.mean(0)) and np.allclose(g.covariance_, np.cov(x, rowvar=False, bias=True))
    expected = stats.multivariate_normal(x.mean(0), np.cov(x, rowvar=False, bias=True)).logpdf(x[:10])
    assert np.allclose(g.score_samples(x[:10]), expected)


def test_gmm_matches_sklearn_held_out_loglik(rng):
    x = _mixture(rng)
    ours = make_density("gmm", components=3, seed=1).fit(x[:2500])
    ref = GaussianMixture(3, covariance_type="full", max_iter=100, random_state=1).fit(x[:2500])
    assert np.allclose(ours.score_samples(x[2500:]), ref.score_samples(x[2500:]), rtol=1e-6)


@pytest.mark.parametrize("kind", ["prior", "gaussian", "gmm", "two-stage", "bayes-gmm"])
def test_samples_reproduce_the_density_moments(kind, rng):
    x = _mixture(rng) if kind != "prior" else rng.normal(size=(3000, 3))
    options = {"epochs": 30, "hidden": 64} if kind == "two-stage" else {}
    density = make_density(kind, **options).fit(x)
    samples = density.sample(20000, seed=0)
    if kind == "two-stage":  # a learned model: moments close to the data's, not exact
        assert np.allclose(samples.mean(0), x.mean(0), atol=0.35) and np.allclose(samples.std(0), x.std(0), rtol=0.2)
        return
    if kind == "prior":
        mean, cov = np.zeros(3), np.eye(3)
    elif kind == "gaussian":
        mean, cov = density.mean_, density.covariance_
    else:
        w, m, c = density.weights_, density.means_, density.covariances_
        mean = w @ m
        cov = sum(wk * (ck + np.outer(mk - mean, mk - mean)) for wk, mk, ck in zip(w, m, c))
    se = np.sqrt(np.diag(cov) / len(samples))
    assert np.all(np.abs(samples.mean(0) - mean) < 4 * se)
    assert np.allclose(np.cov(samples, rowvar=False), cov, rtol=0.06, atol=0.05)


def test_prior_samples_are_standard_normal():
    samples = make_density("prior").fit(np.zeros((5, 4))).sample(5000, seed=3)
    for column in samples.T:
        assert stats.kstest(column, "norm").pvalue > 0.001
    assert np.allclose(make_density("prior").fit(np.zeros((5, 2))).score_samples(np.zeros((1, 2))),
                       stats.multivariate_normal(np.zeros(2), np.eye(2)).logpdf(np.zeros(2)))


def test_two_stage_beats_the_prior_on_non_gaussian_codes(rng):
    u = rng.normal(size=(4000, 2))
    banana = np.stack([u[:, 0] * 2 + 3, u[:, 1] + 0.5 * u[:, 0] ** 2 - 1], 1)
    _, two = fit_density(banana[:3000], "two-stage", valid_codes=banana[3000:], epochs=40, hidden=64)
    _, prior = fit_density(banana[:3000], "prior", valid_codes=banana[3000:])
    _, gauss = fit_density(banana[:3000], "gaussian", valid_codes=banana[3000:])
    assert two["valid_loglik"] > prior["valid_loglik"] and two["valid_loglik"] > gauss["valid_loglik"] - 0.05


@pytest.mark.parametrize("kind", ["prior", "gaussian", "gmm", "two-stage", "kde", "bayes-gmm", "flow"])
def test_save_load_round_trip_is_exact(kind, rng, tmp_path):
    x = _mixture(rng, n=400)
    density = make_density(kind, **({"epochs": 2} if kind in ("two-stage", "flow") else {})).fit(x)
    save_density(density, tmp_path / kind, meta={"model_fingerprint": "abc", "latent_dim": 3})
    loaded = load_density(tmp_path / kind, expect_meta={"model_fingerprint": "abc"})
    assert np.array_equal(density.sample(7, seed=2), loaded.sample(7, seed=2))
    assert np.array_equal(density.score_samples(x[:9]), loaded.score_samples(x[:9]))
    with pytest.raises(RaekitError, match="fitted for another model"):
        load_density(tmp_path / kind, expect_meta={"model_fingerprint": "other"})


def test_sklearn_estimators_plug_in(rng):
    x = _mixture(rng, n=600)
    density = make_density(GaussianMixture(3, random_state=0)).fit(x)
    assert density.sample(11, seed=0).shape == (11, 3) and density.score_samples(x[:4]).shape == (4,)


@pytest.mark.parametrize("call,message", [
    (lambda: make_density("gmm", components=10).fit(np.zeros((5, 2))), "fewer than the 10 GMM components"),
    (lambda: make_density("gaussian").fit(np.ones((2, 3))), "needs at least 4 codes"),
    (lambda: make_density("gmm").fit(np.array([[np.nan, 1.0]] * 20)), "20 rows with NaN or Inf"),
    (lambda: make_density("gmn"), "did you mean 'gmm'"),
    (lambda: make_density("gaussian").fit(np.random.default_rng(0).normal(size=(50, 2))).score_samples(np.zeros((1, 3))),
     "have 3 dimensions, the density was fitted on 2"),
    (lambda: load_density("/nonexistent/density"), "no saved density"),
])
def test_bad_input_gives_a_clear_error(call, message):
    with pytest.raises(RaekitError, match=message):
        call()


@pytest.mark.parametrize("kind", ["kde", "bayes-gmm", "gmm"])
def test_held_out_loglik_is_close_to_the_true_density(kind, rng):
    centres, scales = np.array([[0, 0], [4, 4], [-3, 4]]), np.array([1.0, 0.5, 0.8])
    labels = rng.integers(0, 3, 4000)
    x = centres[labels] + rng.normal(size=(4000, 2)) * scales[labels, None]
    true = np.log(np.mean([stats.multivariate_normal(c, s ** 2 * np.eye(2)).pdf(x[3000:])
                           for c, s in zip(centres, scales)], axis=0)).mean()
    options = {"bayes-gmm": {"components": 6}, "gmm": {"components": 3}}.get(kind, {})
    density = fit_density(x[:2500], kind, valid_codes=x[2500:3000], **options)[0]
    assert density.score(x[3000:]) == pytest.approx(true, abs=0.05 if kind != "kde" else 0.15)


def test_flow_beats_the_gaussian_on_a_banana(rng):
    u = rng.normal(size=(5000, 2))
    banana = np.stack([u[:, 0], u[:, 1] * 0.3 + u[:, 0] ** 2], 1)
    flow, _ = fit_density(banana[:3500], "flow", valid_codes=banana[3500:4000], epochs=20, hidden=32)
    gauss, _ = fit_density(banana[:3500], "gaussian")
    assert flow.score(banana[4000:]) > gauss.score(banana[4000:]) + 0.3
    samples = flow.sample(4000, seed=0)
    assert np.allclose(samples.mean(0), banana.mean(0), atol=0.15)
