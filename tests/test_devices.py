"""Device choice: `auto` picks CUDA, then MPS, then the CPU (availability mocked); `--device`
overrides it for everything a command computes; inputs follow the model's device (the `meta`
device stands in for a GPU: tensors that stayed behind on the CPU would meet it and fail)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import raekit
from raekit import devices
from raekit.errors import RaekitError
from raekit.generation.codes import decode_codes, encode_images
from raekit.metrics.features import TorchExtractor


@pytest.mark.parametrize(
    "cuda, mps, expected", [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")]
)
def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert devices.best_available().type == expected
    assert devices.check_device("auto").type == expected
    assert devices.compute_device(None).type == expected


def test_named_devices_are_checked(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RaekitError, match="'cuda' is not available"):
        devices.check_device("cuda")
    with pytest.raises(RaekitError, match="unknown device 'gpu'"):
        devices.check_device("gpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert devices.check_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(RaekitError, match="1 CUDA device"):
        devices.check_device("cuda:1")


def test_use_device_overrides_the_configured_device():
    assert raekit.make_config().device == "auto"
    assert devices.compute_device("cpu").type == "cpu"
    with devices.use_device("cpu"):
        assert devices.compute_device("auto").type == "cpu"
    with pytest.raises(RaekitError), devices.use_device("cuda:99"):
        pass


class MetaProbe(torch.nn.Module):
    """An autoencoder stand-in whose weights live on the meta device: it records where its inputs
    arrive and answers with CPU tensors, as a GPU model's outputs moved back would be."""

    latent_dim = 3

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.empty(1, device="meta"))
        self.seen = []

    def encode(self, x):
        self.seen.append(x.device)
        return torch.zeros(len(x), self.latent_dim)

    def decode(self, z):
        self.seen.append(z.device)
        return torch.zeros(len(z), 1, 4, 4)


def test_encoding_and_decoding_send_inputs_to_the_models_device():
    probe = MetaProbe()
    codes = encode_images(probe, np.zeros((5, 1, 4, 4), np.uint8))
    decode_codes(probe, codes)
    assert codes.shape == (5, 3) and probe.seen == [torch.device("meta")] * 2


def test_model_inputs_follow_the_model():
    model = raekit.build_model("rae-l2", dataset="digits").to("meta")
    x = model.as_input(torch.zeros(2, 1, 32, 32, dtype=torch.uint8))
    assert x.device.type == "meta" and x.dtype == torch.get_default_dtype()


def test_feature_batches_go_to_the_extractors_device():
    seen = []

    def embed(batch):
        seen.append(batch.device)
        return torch.zeros(len(batch), 2)

    extractor = TorchExtractor(embed, 2, batch_size=2, device=torch.device("meta"))
    assert extractor(np.zeros((3, 1, 4, 4), np.uint8)).shape == (3, 2)
    assert seen == [torch.device("meta")] * 2


def test_runs_load_onto_the_chosen_device(tmp_path):
    run = raekit.train(
        raekit.make_config("digits", "ae", "tiny", epochs=1, train_limit=200, valid_limit=100),
        tmp_path / "run",
    )
    with devices.use_device("cpu"):
        model, config = raekit.load_run(run)
    assert config.device == "auto" and devices.module_device(model).type == "cpu"
