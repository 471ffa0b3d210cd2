"""Ex-post densities against numpy, scipy and scikit-learn."""

import warnings

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from raekit.density import em, fit_density, load_density, make_density, save_density
from raekit.errors import RaekitError


def _mixture(rng, n=3000, d=3):
    centres = np.array([[0, 0, 0], [5, 5, 0], [-4, 3, 3]])[:, :d]
    labels = rng.integers(0, 3, n)
    return (
        centres[labels] + rng.normal(size=(n, d)) * [1.0, 0.5, 2.0][:d] + 7.0
    )  # offset: not centred


def _banana(rng, n):
    u = rng.normal(size=(n, 2))
    return np.stack([u[:, 0] * 2 + 3, u[:, 1] * 0.4 + 0.5 * u[:, 0] ** 2 - 1], 1)


def _sklearn(k, **kw):
    return GaussianMixture(
        k, covariance_type="full", **{"max_iter": 100, "tol": 1e-3, "reg_covar": 1e-6, **kw}
    )


def test_gaussian_recovers_numpy_mean_and_covariance(rng):
    x = rng.normal(size=(500, 4)) @ rng.normal(size=(4, 4)) + 3
    g = make_density("gaussian").fit(x)
    assert np.allclose(g.mean_, x.mean(0)) and np.allclose(
        g.covariance_, np.cov(x, rowvar=False, bias=True)
    )
    expected = stats.multivariate_normal(x.mean(0), np.cov(x, rowvar=False, bias=True)).logpdf(
        x[:10]
    )
    assert np.allclose(g.score_samples(x[:10]), expected) and g.ridge_ == 0.0


def test_gaussian_on_codes_in_a_subspace_gets_the_smallest_ridge(rng):
    x = rng.normal(size=(200, 2)) @ np.array([[1.0, 2.0, 3.0], [0.0, 1.0, -1.0]])  # rank 2 in 3-D
    g, report = fit_density(x, "gaussian")
    assert (
        g.ridge_ == pytest.approx(1e-9 * np.trace(np.cov(x.T, bias=True)) / 3)
        and report["ridge"] == g.ridge_
    )
    assert np.allclose(g.covariance_, np.cov(x.T, bias=True) + g.ridge_ * np.eye(3))
    assert np.isfinite(g.score_samples(x)).all()


def test_gmm_matches_sklearn_from_the_same_initialisation(rng):
    x = _mixture(rng, n=3000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = _sklearn(4, init_params="random_from_data", max_iter=1, random_state=5).fit(x[:200])
    init = dict(
        weights_init=start.weights_, means_init=start.means_, precisions_init=start.precisions_
    )
    ref = _sklearn(4, **init).fit(x[:2500])
    ours = make_density("gmm", components=4, **init).fit(x[:2500])
    assert ours.n_iter_ == ref.n_iter_ and ours.converged_ == ref.converged_
    assert ours.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-10)
    assert np.allclose(ours.score_samples(x[2500:]), ref.score_samples(x[2500:]), rtol=1e-6, atol=0)
    for mine, theirs in (
        (ours.weights_, ref.weights_),
        (ours.means_, ref.means_),
        (ours.covariances_, ref.covariances_),
    ):
        assert np.allclose(mine, theirs, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("init", ["kmeans", "k-means++"])
def test_gmm_default_initialisation_is_sklearns_for_the_same_seed(init, rng):
    x = _mixture(rng, n=1500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = _sklearn(3, init_params=init, random_state=4).fit(x[:1200])
    ours = make_density("gmm", components=3, init=init, seed=4).fit(x[:1200])
    assert ours.n_iter_ == ref.n_iter_
    assert np.allclose(ours.score_samples(x[1200:]), ref.score_samples(x[1200:]), rtol=1e-6, atol=0)


def test_e_step_statistics_are_sums_that_split_across_chunks_and_workers(rng):
    x = _mixture(rng, n=400)
    ref = _sklearn(3, random_state=0, max_iter=5).fit(x)
    mix = em.from_covariances(
        *(torch.from_numpy(a) for a in (ref.weights_, ref.means_, ref.covariances_))
    )
    resp = ref.predict_proba(x)  # scikit-learn's responsibilities: an independent E-step
    whole = em.e_step_stats(torch.from_numpy(x), mix, chunk=37)
    assert np.allclose(whole.resp_sum, resp.sum(0))
    assert np.allclose(whole.weighted_sum, resp.T @ x)
    assert np.allclose(whole.weighted_outer, np.einsum("nk,nd,ne->kde", resp, x, x))
    assert float(whole.loglik_sum) == pytest.approx(ref.score_samples(x).sum(), rel=1e-12)
    # Two "workers" each summing their shard, then adding: the M-step sees the same statistics.
    parts = [em.e_step_stats(torch.from_numpy(shard), mix) for shard in (x[:150], x[150:])]
    summed = em.EStats(
        *(a + b for a, b in zip(parts[0][:4], parts[1][:4])), parts[0].count + parts[1].count
    )
    for a, b in zip(em.m_step(whole, 1e-6), em.m_step(summed, 1e-6)):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-12)


def _model_moments(density):
    """(mean, covariance) of each density's model, computed from its parameters, not its samples."""
    if density.kind == "prior":
        return np.zeros(3), np.eye(3)
    if density.kind == "gaussian":
        return density.mean_, density.covariance_
    w, m, c = density.weights_, density.means_, density.covariances_
    mean = w @ m
    return mean, sum(wk * (ck + np.outer(mk - mean, mk - mean)) for wk, mk, ck in zip(w, m, c))


@pytest.mark.parametrize("kind", ["prior", "gaussian", "gmm", "bayes-gmm"])
def test_samples_reproduce_the_density_moments(kind, rng):
    x = _mixture(rng) if kind != "prior" else rng.normal(size=(3000, 3))
    density = make_density(kind, **({"components": 3} if "gmm" in kind else {})).fit(x)
    samples = density.sample(40000, seed=0)
    mean, cov = _model_moments(density)
    n = len(samples)
    assert np.all(np.abs(samples.mean(0) - mean) < 4 * np.sqrt(np.diag(cov) / n))
    # Var of a sample covariance entry is (S_ii S_jj + S_ij^2) / n for Gaussian data; mixtures have heavier
    # tails, so the check uses the empirical fourth moments instead.
    centred = samples - mean
    se = np.sqrt(np.var(centred[:, :, None] * centred[:, None, :], axis=0) / n)
    assert np.all(np.abs(centred.T @ centred / n - cov) < 4 * se + 1e-12)


def test_prior_samples_are_standard_normal():
    prior = make_density("prior").fit(np.zeros((5, 4)))
    samples = prior.sample(5000, seed=3)
    for column in samples.T:
        assert stats.kstest(column, "norm").pvalue > 0.001
    assert np.all(np.abs(samples.mean(0)) < 4 / np.sqrt(5000))
    assert np.all(np.abs(np.cov(samples.T) - np.eye(4)) < 4 * np.sqrt(2 / 5000))
    assert np.allclose(
        prior.score_samples(samples[:5]), stats.multivariate_normal(np.zeros(4)).logpdf(samples[:5])
    )


def _two_stage(codes, **kw):
    options = dict(
        kl_weight=0.05, hidden=48, layers=2, epochs=25, batch_size=64, importance_samples=512
    )
    return make_density("two-stage", **{**options, **kw}).fit(codes)


def test_two_stage_beats_the_prior_and_the_gaussian_on_a_banana(rng):
    banana = _banana(rng, 2500)
    two = _two_stage(banana[:2000])
    prior, gauss = (
        make_density("prior").fit(banana[:2000]),
        make_density("gaussian").fit(banana[:2000]),
    )
    valid = banana[2000:]
    assert (
        two.score(valid) > prior.score(valid) + 1.0 and two.score(valid) > gauss.score(valid) + 0.1
    )


def test_two_stage_scores_a_proper_density_and_samples_from_it(rng):
    codes = np.concatenate([rng.normal(-2, 0.5, 600), rng.normal(1.5, 1.0, 600)])[:, None] * 3 + 10
    two = _two_stage(codes, importance_samples=4096)
    # Exact log p(z) of the model by quadrature over u: p(z) = int N(z; D(u), sigma^2) N(u) du / scale.
    u = np.linspace(-8, 8, 4001)
    with torch.no_grad():
        mean = (
            two.net_.decoder(torch.as_tensor(u[:, None], dtype=torch.float32))
            .double()
            .numpy()[:, 0]
        )
    sigma = np.exp(two._log_sigma())
    grid = np.linspace(codes.min() - 15, codes.max() + 15, 3001)
    z = (grid - two.shift_[0]) / two.scale_[0]
    joint = stats.norm.pdf(z[:, None], mean[None], sigma) * stats.norm.pdf(u)[None]
    exact = np.trapezoid(joint, u, axis=1) / two.scale_[0]
    assert np.trapezoid(exact, grid) == pytest.approx(
        1.0, abs=2e-3
    )  # the model is a proper density
    estimate = two.score_samples(grid[::50, None])
    inside = exact[::50] > 1e-3
    assert np.allclose(estimate[inside], np.log(exact[::50][inside]), atol=0.05)
    # Sample moments against the model's moments from the same quadrature.
    samples = two.sample(20000, seed=1)[:, 0]
    m1 = np.trapezoid(exact * grid, grid)
    sd = np.sqrt(np.trapezoid(exact * (grid - m1) ** 2, grid))
    assert abs(samples.mean() - m1) < 4 * sd / np.sqrt(len(samples))
    assert abs(samples.std() - sd) < 4 * sd / np.sqrt(2 * len(samples)) + 1e-3 * sd


def test_two_stage_kl_weight_follows_the_dataset_in_official_units():
    for dataset, weight in (("mnist", 1.5e-3), ("cifar10", 1e-3), ("celeba", 2e-3)):
        density = make_density("two-stage", dataset=dataset)
        density.n_features_in_ = 16
        # Official loss mean_j (z_j - D(u)_j)^2 + w KL = w * (sum_j (...)^2 / (2 sigma^2) + KL) with sigma^2 = d w / 2.
        assert np.exp(2 * density._log_sigma()) == pytest.approx(16 * weight / 2)
    assert make_density("two-stage", kl_weight=0.3).options["kl_weight"] == 0.3


ALL_KINDS = ["prior", "gaussian", "gmm", "two-stage", "kde", "bayes-gmm", "flow"]


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_save_load_round_trip_is_exact(kind, rng, tmp_path):
    x = _mixture(rng, n=400)
    options = {"two-stage": {"epochs": 2, "hidden": 16}, "flow": {"epochs": 2}}.get(kind, {})
    density = make_density(kind, **options).fit(x)
    save_density(density, tmp_path / kind, meta={"model_fingerprint": "abc", "latent_dim": 3})
    loaded = load_density(
        tmp_path / kind, expect_meta={"model_fingerprint": "abc", "latent_dim": 3}
    )
    assert loaded.kind == kind and loaded.options == density.options
    assert np.array_equal(density.sample(7, seed=2), loaded.sample(7, seed=2))
    assert np.array_equal(density.score_samples(x[:9]), loaded.score_samples(x[:9]))
    with pytest.raises(RaekitError, match="fitted for another model"):
        load_density(tmp_path / kind, expect_meta={"model_fingerprint": "other"})
    with pytest.raises(RaekitError, match="latent_dim"):
        load_density(tmp_path / kind, expect_meta={"latent_dim": 16})


def test_sklearn_estimators_plug_in_with_seeded_sampling(rng, tmp_path):
    x = _mixture(rng, n=600)
    density = make_density(GaussianMixture(3, random_state=0)).fit(x)
    assert np.array_equal(density.sample(11, seed=4), density.sample(11, seed=4))
    assert density.sample(11, seed=0).shape == (11, 3)
    assert np.allclose(density.score_samples(x[:4]), density.estimator.score_samples(x[:4]))
    with pytest.raises(RaekitError, match="cannot be saved"):
        save_density(density, tmp_path / "est")

    class FitOnly:
        def fit(self, codes):
            return self

    with pytest.raises(RaekitError, match="has no sample"):
        make_density(FitOnly())


def _fitted_gaussian():
    return make_density("gaussian").fit(np.random.default_rng(0).normal(size=(50, 2)))


@pytest.mark.parametrize(
    "call,message",
    [
        (
            lambda: make_density("gmm", components=10).fit(np.zeros((5, 2))),
            "fewer than the 10 GMM components",
        ),
        (lambda: make_density("gaussian").fit(np.ones((3, 3))), "needs at least 4 codes"),
        (
            lambda: make_density("gmm").fit(np.array([[np.nan, 1.0]] * 20 + [[0.0, 1.0]] * 5)),
            "20 rows with NaN or Inf",
        ),
        (
            lambda: make_density("gaussian").fit(np.array([[np.inf, 1.0]] + [[0.0, 1.0]] * 5)),
            "1 rows with NaN or Inf",
        ),
        (lambda: make_density("gmn"), "did you mean 'gmm'"),
        (
            lambda: make_density(
                "gmm",
                components=2,
                weights_init=[0.5, 0.6],
                means_init=np.zeros((2, 2)),
                precisions_init=np.stack([np.eye(2)] * 2),
            ).fit(np.eye(2).repeat(5, 0)),
            "sum to 1",
        ),
        (lambda: make_density("gmm", init="random"), "unknown GMM init"),
        (lambda: make_density("gmm", component=3), "does not take option"),
        (lambda: make_density("two-stage", dataset="svhn"), "unknown dataset"),
        (
            lambda: _fitted_gaussian().score_samples(np.zeros((1, 3))),
            "have 3 dimensions, the density was fitted on 2",
        ),
        (lambda: _fitted_gaussian().sample(0), "at least 1"),
        (lambda: make_density("gaussian").sample(3), "not fitted"),
        (lambda: make_density("gmm").fit(np.zeros(30)), r"\(N, d\) array"),
        (
            lambda: make_density("gmm", components=2, reg_covar=0).fit(np.zeros((30, 2))),
            "singular covariance",
        ),
        (lambda: load_density("/nonexistent/density"), "no saved density"),
    ],
)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_bad_input_gives_a_clear_error(call, message):
    with pytest.raises(RaekitError, match=message):
        call()


@pytest.mark.parametrize("kind", ["kde", "bayes-gmm", "gmm"])
def test_held_out_loglik_is_close_to_the_true_density(kind, rng):
    centres, scales = np.array([[0, 0], [4, 4], [-3, 4]]), np.array([1.0, 0.5, 0.8])
    labels = rng.integers(0, 3, 4000)
    x = centres[labels] + rng.normal(size=(4000, 2)) * scales[labels, None]
    true = np.log(
        np.mean(
            [
                stats.multivariate_normal(c, s**2 * np.eye(2)).pdf(x[3000:])
                for c, s in zip(centres, scales)
            ],
            axis=0,
        )
    ).mean()
    options = {"bayes-gmm": {"components": 6}, "gmm": {"components": 3}}.get(kind, {})
    density, report = fit_density(x[:2500], kind, valid_codes=x[2500:3000], **options)
    assert density.score(x[3000:]) == pytest.approx(true, abs=0.05 if kind != "kde" else 0.15)
    assert report["valid_loglik"] == pytest.approx(density.score(x[2500:3000]))


def test_flow_beats_the_gaussian_on_a_banana(rng):
    u = rng.normal(size=(3500, 2))
    banana = np.stack([u[:, 0], u[:, 1] * 0.3 + u[:, 0] ** 2], 1)
    flow, _ = fit_density(
        banana[:2500], "flow", valid_codes=banana[2500:3000], epochs=15, hidden=32
    )
    gauss, _ = fit_density(banana[:2500], "gaussian")
    assert flow.score(banana[3000:]) > gauss.score(banana[3000:]) + 0.3
    samples = flow.sample(4000, seed=0)
    assert np.allclose(samples.mean(0), banana.mean(0), atol=0.15)


def test_the_density_names_the_command_line_accepts_are_the_estimators():
    from raekit.config.generation import DENSITY_NAMES
    from raekit.density import DENSITIES

    assert tuple(DENSITIES) == DENSITY_NAMES
