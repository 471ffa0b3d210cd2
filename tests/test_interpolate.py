import numpy as np
import pytest

from raekit.interpolate import lerp, midpoints, slerp
from raekit.neighbours import nearest_neighbours
from raekit.plots import image_grid, samples_figure


def test_slerp_endpoints_are_exact(rng):
    z0, z1 = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    path = slerp(z0, z1, np.linspace(0, 1, 7))
    assert np.allclose(path[:, 0], z0) and np.allclose(path[:, -1], z1)


def test_slerp_midpoint_of_orthogonal_unit_vectors():
    mid = midpoints(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))[0]
    assert np.allclose(mid, [np.sqrt(0.5), np.sqrt(0.5)])  # on the circle, 45 degrees from each


def test_slerp_keeps_constant_angular_speed_and_blends_norms(rng):
    z0, z1 = rng.normal(size=(1, 6)), 3 * rng.normal(size=(1, 6))
    t = np.linspace(0, 1, 5)
    path = slerp(z0, z1, t)[0]
    unit = path / np.linalg.norm(path, axis=1, keepdims=True)
    omega = np.arccos(np.clip(unit[0] @ unit[-1], -1, 1))
    angles = np.arccos(np.clip(unit @ unit[0], -1, 1))
    assert np.allclose(angles, t * omega, atol=1e-9)
    assert np.allclose(np.linalg.norm(path, axis=1), (1 - t) * np.linalg.norm(z0) + t * np.linalg.norm(z1))


@pytest.mark.parametrize("z0,z1", [([0.0, 0.0], [1.0, 2.0]), ([1.0, 1.0], [2.0, 2.0]), ([1.0, 0.0], [-1.0, 0.0])])
def test_slerp_edge_cases_are_finite_and_fall_back_to_linear(z0, z1):
    z0, z1 = np.array([z0]), np.array([z1])
    t = np.linspace(0, 1, 5)
    path = slerp(z0, z1, t)
    assert np.isfinite(path).all() and np.allclose(path, lerp(z0, z1, t))


def test_nearest_neighbours_equal_brute_force(rng):
    queries, reference = rng.random((7, 1, 4, 4)), rng.random((300, 1, 4, 4))
    index, dist = nearest_neighbours(queries, reference, k=3, batch=64)
    brute = ((queries.reshape(7, 1, -1) - reference.reshape(1, 300, -1)) ** 2).sum(-1)
    assert np.array_equal(index, np.argsort(brute, axis=1)[:, :3])
    assert np.allclose(dist, np.sort(brute, axis=1)[:, :3], rtol=1e-4)


def test_image_grid_places_each_image(tmp_path):
    images = np.stack([np.full((1, 2, 2), v, np.uint8) for v in (10, 20, 30)])
    grid = image_grid(images, nrow=2, pad=1, fill=0)
    expected = np.zeros((7, 7), np.uint8)
    expected[1:3, 1:3], expected[1:3, 4:6], expected[4:6, 1:3] = 10, 20, 30
    assert grid.shape == (7, 7, 3) and np.array_equal(grid[..., 0], expected)
    from PIL import Image
    path = samples_figure(np.random.default_rng(0).random((4, 3, 8, 8)), tmp_path / "s.png")
    assert Image.open(path).size == ((2 * 10 + 2) * 2, (2 * 10 + 2) * 2)
