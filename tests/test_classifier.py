"""The classifier feature extractor: accuracy on real digits, caching, features, input checks."""

import hashlib
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from sklearn.datasets import load_digits

from raekit.errors import RaekitError
from raekit.io.cache import cache_dir
from raekit.metrics import classifier as clf
from raekit.metrics import get_extractor
from raekit.metrics.classifier import train_classifier

pytestmark = pytest.mark.usefixtures("one_thread")


def _digits32(n=None):
    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))[:n]
    x = torch.tensor(digits.images[order], dtype=torch.float32)[:, None] / 16.0
    x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False).clamp(0, 1)
    return x, digits.target[order]


def _splits(x, y, n_train):
    images = (x * 255).round().to(torch.uint8).numpy()
    return SimpleNamespace(
        name="digits",
        train=images[:n_train],
        train_labels=y[:n_train],
        valid=images[n_train:],
        valid_labels=y[n_train:],
        test=images[n_train:],
        test_labels=y[n_train:],
    )


def test_reaches_90_percent_on_digits():
    x, y = _digits32()
    model = train_classifier(x[:1300], y[:1300], x[1300:], y[1300:])
    assert model.valid_accuracy >= 0.90
    # The stored accuracy is the accuracy of the returned weights, recomputed independently.
    with torch.no_grad():
        predicted = model(x[1300:]).argmax(1).numpy()
    assert np.mean(predicted == y[1300:]) == pytest.approx(model.valid_accuracy)


def test_cached_classifier_is_reused_and_its_features_are_the_penultimate_layer(monkeypatch):
    x, y = _digits32(300)
    data = _splits(x, y, 200)
    extractor = get_extractor("classifier", dataset="digits", data=data, epochs=2)
    key = extractor.fingerprint.removeprefix("classifier-").rsplit("-", 1)[0]
    folder = cache_dir() / "classifiers" / key
    assert (folder / "model.safetensors").is_file() and (folder / "classifier.json").is_file()
    assert folder.name.startswith("digits-")

    monkeypatch.setattr(clf, "train_classifier", lambda *a, **k: pytest.fail("retrained"))
    again = get_extractor("classifier", dataset="digits", data=data, epochs=2)
    assert (
        again.fingerprint == extractor.fingerprint
        and again.valid_accuracy == extractor.valid_accuracy
    )

    model = clf.load_classifier(folder)
    with torch.no_grad():
        u = torch.from_numpy(data.valid).float() / 255
        h = F.max_pool2d(F.relu(model.conv1(u)), 2)
        h = F.max_pool2d(F.relu(model.conv2(h)), 2)
        h = F.adaptive_avg_pool2d(F.relu(model.conv3(h)), 4)
        expected = F.relu(model.fc(h.flatten(1))).double().numpy()
    feats = again(data.valid)  # uint8 input is scaled by 1/255
    assert feats.shape == (100, 128) and again.dim == 128
    np.testing.assert_allclose(feats, expected, atol=1e-5)
    np.testing.assert_allclose(again(u.numpy()), expected, atol=1e-5)


def test_a_pinned_classifier_is_the_folder_s_own_whatever_the_cache_holds(tmp_path, monkeypatch):
    x, y = _digits32(300)
    data = _splits(x, y, 200)
    pinned = tmp_path / "results" / "classifier"
    first = get_extractor("classifier", dataset="digits", data=data, pinned=pinned, epochs=2)
    weights = pinned / "model.safetensors"
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert first.fingerprint == clf.pinned_fingerprint(pinned) and first.fingerprint.endswith(
        "-" + sha[:12]
    )
    assert clf.pinned_fingerprint(tmp_path / "nothing") is None
    expected = first(data.valid)

    # the cache's classifier trained again elsewhere (other weights, same key): the pinned one
    # is still used, and the cache's names other weights
    key = first.fingerprint.removeprefix("classifier-").rsplit("-", 1)[0]
    cached = cache_dir() / "classifiers" / key / "model.safetensors"
    state = {k: v + 0.01 for k, v in load_file(cached).items()}
    save_file(state, cached)
    monkeypatch.setattr(clf, "train_classifier", lambda *a, **k: pytest.fail("retrained"))
    again = get_extractor("classifier", dataset="digits", data=data, pinned=pinned, epochs=2)
    np.testing.assert_array_equal(again(data.valid), expected)
    assert again.fingerprint == first.fingerprint
    other = get_extractor("classifier", dataset="digits", data=data, epochs=2)
    assert other.fingerprint != first.fingerprint
    assert not np.allclose(other(data.valid), expected)
    with pytest.raises(RaekitError, match="holds the classifier of 'digits', not of 'mnist'"):
        clf.pinned_classifier(pinned, "mnist", data)


def test_changed_data_trains_a_new_classifier():
    x, y = _digits32(120)
    first = get_extractor("classifier", dataset="digits", data=_splits(x, y, 80), epochs=1)
    second = get_extractor("classifier", dataset="digits", data=_splits(x, y, 90), epochs=1)
    third = get_extractor("classifier", dataset="digits", data=_splits(x, y, 90), epochs=2)
    assert len({first.fingerprint, second.fingerprint, third.fingerprint}) == 3


@pytest.mark.parametrize(
    "images, match",
    [
        (np.zeros((4, 32, 32), np.float32), "N, 1 or 3, H, W"),
        (np.zeros((4, 2, 32, 32), np.float32), "N, 1 or 3, H, W"),
        (np.full((4, 1, 32, 32), 2.0, np.float32), r"\[0, 1\]"),
        (np.full((4, 1, 32, 32), np.nan, np.float32), "NaN or Inf"),
        (np.zeros((4, 1, 32, 32), np.int32), "uint8 or float"),
    ],
)
def test_bad_images_are_errors(images, match):
    with pytest.raises(RaekitError, match=match):
        train_classifier(images, np.zeros(4), np.zeros((2, 1, 32, 32), np.float32), np.zeros(2))


def test_bad_labels_and_datasets_are_errors():
    x = np.zeros((4, 1, 8, 8), np.float32)
    with pytest.raises(RaekitError, match="labels must be a 1-D array of 4"):
        train_classifier(x, np.zeros(3), x, np.zeros(4))
    with pytest.raises(RaekitError, match="non-negative"):
        train_classifier(x, np.array([0, 1, -1, 0]), x, np.zeros(4))
    with pytest.raises(RaekitError, match="differ in shape"):
        train_classifier(x, np.zeros(4), np.zeros((4, 1, 9, 9), np.float32), np.zeros(4))
    with pytest.raises(RaekitError, match="at least 4x4"):
        train_classifier(x[..., :3, :3], np.zeros(4), x[..., :3, :3], np.zeros(4))
    unlabelled = SimpleNamespace(
        name="celeba", train=x, valid=x, train_labels=None, valid_labels=None
    )
    with pytest.raises(RaekitError, match="no labels"):
        get_extractor("classifier", dataset="celeba", data=unlabelled)
    with pytest.raises(RaekitError, match="needs a dataset"):
        get_extractor("classifier")
    labelled = SimpleNamespace(
        name="digits", train=x, valid=x, train_labels=np.zeros(4), valid_labels=np.zeros(4)
    )
    with pytest.raises(RaekitError, match="did you mean 'epochs'"):
        get_extractor("classifier", dataset="digits", data=labelled, epoch=1)
