"""Pixel-space nearest neighbours against a brute-force numpy search."""

import numpy as np
import pytest

from raekit.errors import RaekitError
from raekit.generation.neighbours import nearest_neighbours


def _brute(queries, reference):
    return (
        (queries.reshape(len(queries), 1, -1) - reference.reshape(1, len(reference), -1)) ** 2
    ).sum(-1)


@pytest.mark.parametrize("batch", [1, 7, 64, 5000])
def test_equal_to_brute_force_for_any_block_size(batch, rng):
    queries, reference = rng.random((9, 1, 4, 4)), rng.random((300, 1, 4, 4))
    index, dist = nearest_neighbours(queries, reference, k=4, batch=batch)
    brute = _brute(queries, reference)
    assert np.array_equal(index, np.argsort(brute, axis=1, kind="stable")[:, :4])
    assert np.allclose(dist, np.sort(brute, axis=1)[:, :4], rtol=1e-10, atol=1e-12)


def test_exact_copies_are_found_at_distance_zero(rng):
    reference = rng.random((50, 3, 8, 8)).astype(np.float32)
    picks = np.array([7, 0, 49])
    index, dist = nearest_neighbours(reference[picks], reference, k=1, batch=16)
    assert np.array_equal(index[:, 0], picks) and np.all(dist[:, 0] == 0)


def test_ties_go_to_the_lower_index():
    reference = np.stack([np.full((1, 2, 2), v) for v in (1.0, 0.0, 1.0, 0.0)])
    index, _ = nearest_neighbours(np.zeros((1, 1, 2, 2)), reference, k=2, batch=3)
    assert index.tolist() == [[1, 3]]


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: nearest_neighbours(np.zeros((2, 1, 2, 2)), np.zeros((5, 1, 3, 3))), "values each"),
        (
            lambda: nearest_neighbours(np.zeros((2, 4)), np.zeros((5, 4)), k=6),
            "k must be between 1 and the 5",
        ),
        (lambda: nearest_neighbours(np.zeros((0, 4)), np.zeros((5, 4))), "non-empty"),
        (
            lambda: nearest_neighbours(np.zeros((2, 4)), np.zeros((5, 4)), batch=0),
            "batch must be at least 1",
        ),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(RaekitError, match=message):
        call()
