"""Own images: reading folders, lists and arrays (modes, crops, layouts), the seeded split, training
on them from Python (paths, arrays, tensors, Datasets) and the run's record of its data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

import raekit
from raekit.data.image_arrays import to_nchw_uint8
from raekit.data.own import nearest_resolution, own_splits, read_own_images, split_own
from raekit.errors import RaekitError

FAST = {"epochs": 1, "batch_size": 10}


def _blob_images(n: int, size=(36, 40), seed=0) -> np.ndarray:
    """Greyscale (n, H, W) uint8 images with a bright bar at a varying height."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 40, size=(n, *size), dtype=np.uint8)
    for i in range(n):
        images[i, 8 + i % 12 : 16 + i % 12, 6:30] = 220
    return images


def test_modes_are_converted_and_images_centre_cropped(tmp_path):
    grey = np.arange(40 * 32, dtype=np.uint32).reshape(40, 32) % 251
    Image.fromarray(grey.astype(np.uint8)).save(tmp_path / "a_grey.png")  # 32 wide, 40 high
    Image.fromarray((grey * 257).astype(np.uint16)).save(tmp_path / "b_grey16.png")
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 10
    Image.fromarray(rgba, "RGBA").save(tmp_path / "c_alpha.png")
    Image.fromarray(rgba[..., :3]).convert("P", palette=Image.Palette.ADAPTIVE).save(
        tmp_path / "d_palette.png"
    )
    Image.fromarray(rgba[..., :3]).convert("CMYK").save(tmp_path / "e_cmyk.jpg", quality=100)
    (tmp_path / "notes.txt").write_text("not an image")
    own = read_own_images(tmp_path, resolution=32)
    assert own.images.shape == (5, 3, 32, 32) and own.images.dtype == np.uint8
    # the grey 32x40 image loses 4 rows at the top and 4 at the bottom, with no resampling
    crop = grey[4:36].astype(np.uint8)
    for channel in range(3):
        np.testing.assert_array_equal(own.images[0, channel], crop)
        np.testing.assert_array_equal(own.images[1, channel], crop)  # 16-bit: v * 257 / 257
    assert (own.images[2, 0] == 200).all() and (own.images[2, 1:] == 0).all()  # alpha dropped
    assert (own.images[3, 0] == 200).all()
    assert abs(int(own.images[4, 0].mean()) - 200) <= 3  # CMYK JPEG, lossy


def test_greyscale_folders_stay_one_channel_and_the_default_resolution_is_nearest(tmp_path):
    for i, image in enumerate(_blob_images(4, size=(110, 100))):
        Image.fromarray(image).save(tmp_path / f"{i}.png")
    own = read_own_images(tmp_path)
    assert own.images.shape == (4, 1, 128, 128)
    assert [nearest_resolution(s) for s in (8, 28, 45, 46, 90, 100, 1000)] == [
        32,
        32,
        32,
        64,
        64,
        128,
        128,
    ]


def test_a_list_file_names_images_relative_to_itself(tmp_path):
    (tmp_path / "img").mkdir()
    for i, image in enumerate(_blob_images(3, size=(32, 32))):
        Image.fromarray(image).save(tmp_path / "img" / f"{i}.png")
    (tmp_path / "list.txt").write_text("# mine\nimg/2.png\n\nimg/0.png\n")
    own = read_own_images(tmp_path / "list.txt")
    np.testing.assert_array_equal(own.images[:, 0], _blob_images(3, size=(32, 32))[[2, 0]])
    (tmp_path / "list.txt").write_text("img/0.png\nimg/missing.png\n")
    with pytest.raises(RaekitError, match="list.txt:2: no such image file"):
        read_own_images(tmp_path / "list.txt")


def test_array_layouts_and_float_pixels():
    x = np.random.default_rng(0).random((5, 8, 8, 3))
    expected = np.round(x * 255).astype(np.uint8).transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(to_nchw_uint8(x, "x"), expected)
    np.testing.assert_array_equal(to_nchw_uint8(x.transpose(0, 3, 1, 2), "x"), expected)
    assert to_nchw_uint8(np.zeros((2, 8, 8), np.uint8), "x").shape == (2, 1, 8, 8)
    for bad, message in [
        (np.zeros((2, 8), np.uint8), "dimensions"),
        (np.zeros((2, 8, 8, 5), np.uint8), "C = 1 or 3"),
        (np.zeros((2, 8, 8), np.int64), "got int64"),
        (np.full((2, 8, 8), 2.0), r"\[0, 1\]"),
        (np.array([[[np.nan]]]), "NaN"),
    ]:
        with pytest.raises(RaekitError, match=message):
            to_nchw_uint8(bad, "x")


def test_the_split_is_seeded_disjoint_and_complete():
    images = np.arange(50, dtype=np.uint8).reshape(50, 1, 1, 1)
    a, b = split_own("x", images, seed=3), split_own("x", images, seed=3)
    assert (len(a.train), len(a.valid), len(a.test)) == (40, 5, 5)
    np.testing.assert_array_equal(a.test, b.test)
    seen = np.concatenate([a.train, a.valid, a.test]).ravel()
    assert sorted(seen.tolist()) == list(range(50))
    assert not np.array_equal(split_own("x", images, seed=4).test, a.test)


@pytest.fixture(scope="module")
def grey_array(tmp_path_factory):
    path = tmp_path_factory.mktemp("own") / "grey.npy"
    np.save(path, _blob_images(40, size=(32, 32)))
    return path


def _config(run):
    return yaml.safe_load((run / "config.yaml").read_text())


def test_training_on_an_array_file_records_the_data(grey_array, tmp_path):
    base = raekit.make_config("digits", "rae-l2", "tiny", lr=2e-3, **FAST)
    run = raekit.train(base, tmp_path / "run", data=str(grey_array))
    config = _config(run)
    assert config["dataset"] == "custom" and config["data"] == str(grey_array)
    assert (config["resolution"], config["channels"], config["latent_dim"]) == (32, 1, 16)
    assert config["lr"] == 2e-3 and config["epochs"] == 1  # changed values carry over
    record = yaml.safe_load((run / "data.json").read_text())
    assert record["split"] == {"train": 32, "valid": 4, "test": 4}
    model, loaded = raekit.load_run(run)
    splits = own_splits(loaded)
    np.testing.assert_array_equal(
        splits.test, split_own("x", _blob_images(40, size=(32, 32))[:, None], 0).test
    )
    # uint8 images go straight into the loss, divided by 255
    x = torch.from_numpy(splits.valid)
    assert torch.allclose(model.loss(x)["loss"], model.loss(x.float() / 255)["loss"])
    with pytest.raises(RaekitError, match="got torch.int64"):
        model.loss(x.long())
    np.save(grey_array.parent / "changed.npy", np.load(grey_array)[::-1])
    grey_array.with_name("changed.npy").replace(grey_array)
    with pytest.raises(RaekitError, match="have changed since the run was trained"):
        own_splits(loaded)


@pytest.mark.parametrize("kind", ["ndarray", "tensor", "dataset"])
def test_training_on_images_in_memory_keeps_a_copy_in_the_run(kind, tmp_path):
    images = _blob_images(30, size=(32, 32), seed=1)
    rgb = np.repeat(images[:, None], 3, axis=1)  # (N, 3, H, W)
    data = {
        "ndarray": rgb.transpose(0, 2, 3, 1),
        "tensor": torch.from_numpy(rgb).float() / 255,
        "dataset": torch.utils.data.TensorDataset(
            torch.from_numpy(rgb), torch.zeros(30, dtype=torch.long)
        ),
    }[kind]
    run = raekit.train(
        raekit.make_config("digits", "ae", "tiny", **FAST), tmp_path / "r", data=data
    )
    config = _config(run)
    assert config["data"] == str((tmp_path / "r" / "data.npy").resolve())
    assert (config["channels"], config["latent_dim"]) == (3, 128)  # CIFAR-10's for 32x32 colour
    np.testing.assert_array_equal(np.load(run / "data.npy"), rgb)
    _, loaded = raekit.load_run(run)
    assert len(own_splits(loaded).train) == 24


def test_nets_follow_the_resolution():
    for resolution, kernel in ((32, 4), (64, 5), (128, 5)):
        model = raekit.build_model(
            "rae-l2",
            dataset="custom",
            data="/x",
            data_sha256="0" * 64,
            resolution=resolution,
            channels=3,
            width=1 / 64,
        )
        x = torch.rand(2, 3, resolution, resolution)
        assert model(x).shape == x.shape
        convs = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
        ups = [m for m in model.decoder.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
        assert convs[0].kernel_size == (kernel, kernel)
        assert len(ups) == {32: 2, 64: 3, 128: 4}[resolution]  # doublings from 8x8
