"""`engine: fast | eager`: when training steps are compiled, that they compute what eager steps
compute, that a failed compile falls back to eager, and that bad values are refused."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from helpers import tiny_digits
from raekit import distributed, runs
from raekit.config import make_config
from raekit.errors import RaekitError
from raekit.models.build import build_from_config
from raekit.training import fast
from raekit.training.epochs import LossModule
from raekit.training.loop import train

SRC = Path(__file__).resolve().parents[1] / "src"
CPU = distributed.Context(device=torch.device("cpu"))


def _config(model="rae", **kw):
    base = dict(epochs=1, batch_size=50, width=0.0625, train_limit=None, valid_limit=None)
    return make_config("digits", model, "tiny", **{**base, **kw})


def test_fast_is_the_default_and_eager_switches_it_off():
    assert _config().engine == "fast"
    assert fast.uses_compile(_config(), CPU, fast.MIN_STEPS)
    assert not fast.uses_compile(_config(engine="eager"), CPU, fast.MIN_STEPS)
    # too short to repay the compile, or not on a CPU: eager
    assert not fast.uses_compile(_config(), CPU, fast.MIN_STEPS - 1)
    gpu = distributed.Context(device=torch.device("cuda", 0))
    assert not fast.uses_compile(_config(), gpu, fast.MIN_STEPS)
    model = build_from_config(_config())
    module = LossModule(model)
    assert fast.training_net(module, model, _config(engine="eager"), CPU, 10**6) is module
    assert isinstance(fast.training_net(module, model, _config(), CPU, 10**6), fast.FastLoss)


def test_bad_engine_is_refused():
    with pytest.raises(RaekitError, match="engine"):
        _config(engine="turbo")


def test_bad_engine_through_the_cli(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "raekit", "train", "--dataset", "digits", "--out", str(out)]
        + ["--set", "engine=turbo"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 2 and not out.exists()
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "engine" in lines[0] and "Traceback" not in done.stderr


def test_failed_compile_falls_back_to_eager(monkeypatch, capsys):
    def broken(fn):
        def call(*args):
            raise RuntimeError("no C++ compiler")

        return call

    monkeypatch.setattr(fast, "compiled", broken)
    torch.manual_seed(0)
    model = build_from_config(_config())
    net = fast.FastLoss(LossModule(model), model, 8)
    x = torch.rand(8, *_config().image_shape)
    torch.manual_seed(1)
    terms = net(x)
    torch.manual_seed(1)
    assert net.failed and torch.equal(terms["loss"], model.loss(x)["loss"])
    assert "training eagerly" in capsys.readouterr().err


def _steps(model_name: str, engine: str, steps: int = 3) -> list[float]:
    config = _config(model_name)
    x = torch.rand(50, *config.image_shape, generator=torch.Generator().manual_seed(5))
    torch.manual_seed(0)
    model = build_from_config(config)
    net = LossModule(model)
    if engine == "fast":
        net = fast.FastLoss(net, model, len(x))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for step in range(steps):
        torch.manual_seed(step)
        loss = net(x)["loss"]
        losses.append(float(loss))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert not getattr(net, "failed", False)
    return losses


@pytest.mark.slow
@pytest.mark.parametrize("model_name", ["rae-l2", "vae", "rae-gp", "rae-sn"])
def test_compiled_steps_equal_eager_steps(model_name):
    """Same seed, same noise draws (VAE), same penalty (RAE-GP: compiled encoder only): the
    losses of three optimiser steps agree to float rounding."""
    eager, compiled = _steps(model_name, "eager"), _steps(model_name, "fast")
    assert compiled == pytest.approx(eager, rel=1e-4)


@pytest.mark.slow
def test_one_epoch_validation_loss_within_one_percent(tmp_path, monkeypatch):
    monkeypatch.setattr(fast, "MIN_STEPS", 0)
    data = tiny_digits(500, 100)
    valid = {}
    for engine in fast.ENGINES:
        run_dir = train(_config("vae", engine=engine), tmp_path / engine, data=data)
        valid[engine] = runs.read_metrics(run_dir)[-1]["valid_loss"]
    assert valid["fast"] == pytest.approx(valid["eager"], rel=0.01)
