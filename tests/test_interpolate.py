"""slerp / lerp against the scalar textbook formula and geometric facts."""

import math

import numpy as np
import pytest

from raekit.errors import RaekitError
from raekit.generation.interpolate import lerp, midpoints, slerp


def _scalar_slerp(a, b, t):
    """Shoemake's formula, one pair and one t at a time, with plain Python floats."""
    dot = sum(x * y for x, y in zip(a, b))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    w = math.acos(max(-1.0, min(1.0, dot / (na * nb))))
    return [(math.sin((1 - t) * w) * x + math.sin(t * w) * y) / math.sin(w) for x, y in zip(a, b)]


def test_slerp_equals_the_scalar_formula_and_has_the_batched_shape(rng):
    z0, z1, t = rng.normal(size=(4, 5)), 2 * rng.normal(size=(4, 5)), np.linspace(0, 1, 6)
    path = slerp(z0, z1, t)
    assert path.shape == (4, 6, 5) and lerp(z0, z1, t).shape == (4, 6, 5)
    expected = np.array(
        [[_scalar_slerp(a, b, s) for s in t] for a, b in zip(z0.tolist(), z1.tolist())]
    )
    assert np.allclose(path, expected, atol=1e-12)


def test_endpoints_are_exact(rng):
    z0, z1 = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    for f in (slerp, lerp):
        path = f(z0, z1, np.array([0.0, 0.3, 1.0]))
        assert np.allclose(path[:, 0], z0, rtol=0, atol=1e-14) and np.allclose(
            path[:, -1], z1, rtol=0, atol=1e-14
        )


def test_midpoint_of_orthogonal_vectors_is_on_the_circle_at_45_degrees():
    mid = midpoints(np.array([[3.0, 0.0]]), np.array([[0.0, 3.0]]))[0]
    assert np.allclose(mid, [3 / math.sqrt(2), 3 / math.sqrt(2)])
    assert np.allclose(
        midpoints(np.array([[3.0, 0.0]]), np.array([[0.0, 3.0]]), "linear")[0], [1.5, 1.5]
    )


def test_midpoint_about_another_origin_is_on_the_circle_around_it():
    origin = np.array([10.0, -4.0])
    z0, z1 = origin + [[3.0, 0.0]], origin + [[0.0, 3.0]]
    mid = midpoints(z0, z1, origin=origin)[0]
    assert np.allclose(mid, origin + [3 / math.sqrt(2), 3 / math.sqrt(2)])
    # about the raw origin the same pair is nearly parallel: the midpoint is close to linear's
    assert np.linalg.norm(midpoints(z0, z1)[0] - (z0 + z1)[0] / 2) < 0.1
    assert np.allclose(midpoints(z0, z1, "linear", origin=origin)[0], (z0 + z1)[0] / 2)


def test_midpoint_of_general_equal_norm_vectors_keeps_the_norm_and_halves_the_angle(rng):
    z0 = rng.normal(size=(6, 8))
    z1 = rng.normal(size=(6, 8))
    z1 *= (np.linalg.norm(z0, axis=1) / np.linalg.norm(z1, axis=1))[:, None]
    mid = midpoints(z0, z1)
    norms = np.linalg.norm(z0, axis=1)
    assert np.allclose(np.linalg.norm(mid, axis=1), norms)

    def angle(a, b):
        return np.arccos(
            np.clip((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1), -1, 1)
        )

    assert np.allclose(angle(z0, mid), angle(z0, z1) / 2) and np.allclose(
        angle(mid, z1), angle(z0, z1) / 2
    )


def test_constant_angular_speed(rng):
    z0, z1 = rng.normal(size=(1, 6)), rng.normal(size=(1, 6))
    z1 *= np.linalg.norm(z0) / np.linalg.norm(z1)
    t = np.linspace(0, 1, 7)
    unit = slerp(z0, z1, t)[0]
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    omega = np.arccos(np.clip(unit[0] @ unit[-1], -1, 1))
    assert np.allclose(np.arccos(np.clip(unit @ unit[0], -1, 1)), t * omega, atol=1e-7)


@pytest.mark.parametrize(
    "z0,z1",
    [
        ([0.0, 0.0], [1.0, 2.0]),
        ([1.0, 2.0], [0.0, 0.0]),
        ([0.0, 0.0], [0.0, 0.0]),
        ([1.0, 1.0], [2.0, 2.0]),
        ([1.0, 0.0], [-1.0, 0.0]),
        ([1.0, 0.0], [-3.0, 0.0]),
    ],
)
def test_degenerate_pairs_are_finite_and_fall_back_to_linear(z0, z1):
    z0, z1 = np.array([z0]), np.array([z1])
    t = np.linspace(0, 1, 5)
    path = slerp(z0, z1, t)
    assert np.isfinite(path).all() and np.allclose(path, lerp(z0, z1, t))


def test_nearly_parallel_codes_stay_finite_and_close_to_linear():
    z0, z1 = np.array([[1.0, 0.0]]), np.array([[1.0, 1e-9]])
    path = slerp(z0, z1, np.linspace(0, 1, 5))
    assert np.isfinite(path).all() and np.allclose(
        path, lerp(z0, z1, np.linspace(0, 1, 5)), atol=1e-12
    )


def test_single_codes_and_bad_shapes():
    assert slerp(np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([0.0, 1.0])).shape == (2, 2)
    with pytest.raises(RaekitError, match="one shape"):
        slerp(np.zeros((2, 3)), np.zeros((2, 4)), [0.5])
    with pytest.raises(RaekitError, match="unknown interpolation method"):
        midpoints(np.zeros((1, 2)), np.ones((1, 2)), "cubic")
