"""Image grids against hand-built arrays; figures round-trip through Pillow."""

import numpy as np
import pytest
from PIL import Image

from raekit.errors import RaekitError
from raekit.plots import (
    curves_figure,
    image_grid,
    interpolation_figure,
    neighbours_figure,
    reconstruction_figure,
    samples_figure,
    save_grid,
)


def _png(path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def test_grid_places_each_image_row_major_with_padding():
    images = np.stack([np.full((1, 2, 2), v, np.uint8) for v in (10, 20, 30)])
    grid = image_grid(images, nrow=2, pad=1, fill=0)
    expected = np.zeros((7, 7), np.uint8)
    expected[1:3, 1:3], expected[1:3, 4:6], expected[4:6, 1:3] = 10, 20, 30
    assert grid.shape == (7, 7, 3) and grid.dtype == np.uint8
    assert all(np.array_equal(grid[..., c], expected) for c in range(3))  # grey stays grey


def test_colour_floats_map_to_rounded_uint8_channels():
    image = np.zeros((1, 3, 1, 2))
    image[0, 0, 0, 0], image[0, 1, 0, 1], image[0, 2] = (
        1.0,
        0.5,
        2.0,
    )  # red, half green, blue clipped
    grid = image_grid(image, nrow=1, pad=0)
    assert grid.tolist() == [[[255, 0, 255], [0, 128, 255]]]


def test_save_grid_round_trips_through_pillow(tmp_path, rng):
    images = rng.random((5, 3, 4, 4))
    path = save_grid(images, tmp_path / "g.png", nrow=3, scale=1)
    assert np.array_equal(_png(path), image_grid(images, 3))


def test_figures_lay_out_the_papers_rows(tmp_path, rng):
    originals, recons = rng.random((4, 1, 6, 6)), rng.random((4, 1, 6, 6))
    top = _png(reconstruction_figure(originals, recons, tmp_path / "r.png"))[
        ::2, ::2
    ]  # saved at 2x
    assert np.array_equal(top, image_grid(np.concatenate([originals, recons]), 4))
    strips = rng.random((2, 5, 1, 6, 6))
    assert np.array_equal(
        _png(interpolation_figure(strips, tmp_path / "i.png"))[::2, ::2],
        image_grid(strips.reshape(10, 1, 6, 6), 5),
    )
    samples, near = rng.random((3, 3, 6, 6)), rng.random((3, 2, 3, 6, 6))
    rows = np.concatenate([samples[:, None], near], 1).reshape(9, 3, 6, 6)
    assert np.array_equal(
        _png(neighbours_figure(samples, near, tmp_path / "n.png"))[::2, ::2], image_grid(rows, 3)
    )
    assert _png(samples_figure(rng.random((10, 1, 6, 6)), tmp_path / "s.png")).shape == (
        2 * 26,
        2 * 34,
        3,
    )  # 4 x 3


def test_curves_from_metrics_rows_and_from_a_dict(tmp_path):
    rows = [
        {"epoch": 1.0, "train_loss": 3.0, "valid_loss": 3.5, "lr": 1e-3},
        {"epoch": 2.0, "train_loss": 2.0, "valid_loss": 2.6, "lr": 1e-3},
    ]
    assert _png(curves_figure(rows, tmp_path / "c.png")).std() > 0
    assert (
        _png(
            curves_figure(
                {"fid": [(1, 30.0), (5, 20.0)], "loss": [2.0, 1.5, 1.2]}, tmp_path / "d.png"
            )
        ).std()
        > 0
    )
    with pytest.raises(RaekitError, match="no curves"):
        curves_figure([], tmp_path / "e.png")


@pytest.mark.parametrize(
    "images", [np.zeros((2, 2, 4, 4)), np.zeros((4, 4)), np.zeros((0, 1, 4, 4))]
)
def test_bad_image_arrays(images):
    with pytest.raises(RaekitError, match=r"\(N, C, H, W\)"):
        image_grid(images, 2)
