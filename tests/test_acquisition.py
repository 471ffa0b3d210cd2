"""GrammarVAE's greedy kriging-believer EI: the posterior it computes, the conditioning on the
batch so far, and the batches it proposes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import norm

from raekit.bo import acquisition as acq
from raekit.bo.gp import fit_gp
from raekit.errors import RaekitError

pytestmark = pytest.mark.usefixtures("one_thread")


def bowl(x: np.ndarray) -> np.ndarray:
    return ((x - 0.3) ** 2).sum(1)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(60, 3))
    return x, bowl(x) + 0.05 * rng.normal(size=60)


def _standardised(model, x):
    """BoTorch's own posterior mean and variance at ``x``, in standardised score units."""
    with torch.no_grad():
        post = model.posterior(torch.as_tensor(x))
    t = model.outcome_transform
    mean = (post.mean.squeeze(-1) - t.means.squeeze()) / t.stdvs.squeeze()
    return mean.numpy(), (post.variance.squeeze(-1) / t.stdvs.squeeze() ** 2).numpy()


def _at(post, x):
    with torch.no_grad():
        xn = post.normalise(torch.as_tensor(x))
        feats = post.kernel(post.anchors, xn)
        return post.mean(xn, feats).numpy(), post.variance(xn, feats).numpy()


@pytest.mark.parametrize("kind", ["exact", "sparse"])
def test_linear_posterior_is_the_models_posterior(problem, kind):
    x, y = problem
    model = fit_gp(x, y, kind=kind, inducing=20)
    test = np.random.default_rng(0).uniform(-1, 1, size=(9, 3))
    mean, var = _at(acq.LinearPosterior.of(model), test)
    want_mean, want_var = _standardised(model, test)
    np.testing.assert_allclose(mean, want_mean, atol=1e-8)
    np.testing.assert_allclose(var, want_var, rtol=1e-2, atol=1e-8)


def test_believer_variance_is_noise_free_conditioning_by_hand(problem):
    """After choosing P, the variance at x is the exact GP's with P added to its data as
    noise-free observations: written out here from the kernel, with no Schur complement."""
    x, y = problem
    model = fit_gp(x, y, kind="exact")
    post = acq.LinearPosterior.of(model)
    rng = np.random.default_rng(1)
    pending, test = rng.uniform(-1, 1, size=(3, 3)), rng.uniform(-1, 1, size=(5, 3))
    believer = acq._Believer(post)
    with torch.no_grad():
        for p in pending:
            believer.add(post.normalise(torch.as_tensor(p[None])))
        xn = post.normalise(torch.as_tensor(test))
        feats = post.kernel(post.anchors, xn)
        cross = post.covariance(xn, feats, believer.points, believer.features)
        got = (post.variance(xn, feats) - believer.shrink(cross)).numpy()
        train, extra = post.anchors.numpy(), believer.points.numpy()

    def k(a, b):
        return post.kernel(torch.as_tensor(a), torch.as_tensor(b)).detach().numpy()

    data = np.concatenate([train, extra])
    noise = float(model.likelihood.noise.detach())
    gram = k(data, data) + np.diag([noise] * len(train) + [0.0] * len(extra))
    xs = xn.numpy()
    want = np.diag(k(xs, xs)) - np.einsum(
        "ij,ji->i", k(xs, data), np.linalg.solve(gram, k(data, xs))
    )
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-9)


def test_log_ei_matches_the_closed_form():
    mean = torch.tensor([0.0, 1.0, -2.0], dtype=torch.float64)
    var, best = torch.tensor([1.0, 0.25, 4.0], dtype=torch.float64), 0.5
    sd = var.sqrt().numpy()
    z = (best - mean.numpy()) / sd
    want = np.log(sd * (z * norm.cdf(z) + norm.pdf(z)))
    np.testing.assert_allclose(acq._log_ei(mean, var, best).numpy(), want, rtol=1e-9)


def test_batch_spreads_within_bounds_towards_the_minimum(problem):
    x, y = problem
    model = fit_gp(x, y, kind="exact")
    bounds = np.stack([x.min(0), x.max(0)])
    points = acq.propose_batch(model, bounds, q=6, seed=2, grid=2000).numpy()
    assert points.shape == (6, 3)
    assert (points >= bounds[0] - 1e-12).all() and (points <= bounds[1] + 1e-12).all()
    gaps = np.linalg.norm(points[:, None] - points[None], axis=-1)[np.triu_indices(6, 1)]
    assert gaps.min() > 1e-3  # the believer pushes each new point away from the batch
    assert bowl(points).min() < np.quantile(y, 0.1)  # EI looks where scores are low
    again = acq.propose_batch(model, bounds, q=6, seed=2, grid=2000).numpy()
    np.testing.assert_array_equal(points, again)  # seeded


def test_without_the_believer_the_batch_collapses(problem, monkeypatch):
    """The spread comes from the conditioning: ignoring the batch repeats one point."""
    x, y = problem
    model = fit_gp(x, y, kind="exact")
    monkeypatch.setattr(acq._Believer, "shrink", lambda self, cross: torch.zeros(len(cross)))
    monkeypatch.setattr(acq._Believer, "log_ei", lambda self, xn, best: _plain(self, xn, best))
    points = acq.propose_batch(model, np.stack([x.min(0), x.max(0)]), q=3, grid=2000).numpy()
    np.testing.assert_allclose(points[0], points[2], atol=1e-6)


def _plain(believer, xn, best):
    feats = believer.post.kernel(believer.post.anchors, xn)
    return acq._log_ei(believer.post.mean(xn, feats), believer.post.variance(xn, feats), best)


def test_bad_bounds_and_batch_are_user_errors(problem):
    x, y = problem
    model = fit_gp(x, y, kind="exact")
    bounds = np.stack([x.min(0), x.max(0)])
    with pytest.raises(RaekitError, match="bounds"):
        acq.propose_batch(model, bounds[::-1], q=2)
    with pytest.raises(RaekitError, match="at least 1"):
        acq.propose_batch(model, bounds, q=0)
