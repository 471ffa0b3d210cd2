"""The trainer: learning, best weights, exact resume, signals, non-finite losses, run safety."""

import csv
import signal

import pytest
import torch
from safetensors.torch import load_file

from helpers import tiny_digits
from raekit import runs
from raekit.config import make_config
from raekit.errors import RaekitError, TrainingInterrupted
from raekit.models import IMAGE_MODELS
from raekit.training import evaluate_loss
from raekit.training.epochs import EpochLoop
from raekit.training.loop import train


def _config(model="rae-l2", **kw):
    base = dict(epochs=2, batch_size=50, width=0.0625, train_limit=None, valid_limit=None)
    base.update(kw)
    return make_config("digits", model, "tiny", **base)


@pytest.mark.parametrize("model", sorted(IMAGE_MODELS))
def test_short_training_lowers_validation_loss(model, tmp_path):
    data = tiny_digits(300, 100)
    config = _config(model, epochs=4)
    built = __import__("raekit.models.build", fromlist=["x"]).build_from_config(config)
    valid = torch.from_numpy(data.valid)
    before = evaluate_loss(built, valid, 50, 0)["loss"]
    run_dir = train(config, tmp_path / model, data=data)
    rows = runs.read_metrics(run_dir)
    assert len(rows) == 4 and min(r["valid_loss"] for r in rows) < before
    assert {"train_rec", "valid_rec", "lr", "seconds"} <= set(rows[0])


def test_run_directory_layout_and_best_weights(tmp_path):
    run_dir = train(_config(epochs=3), tmp_path / "run", data=tiny_digits())
    assert {p.name for p in run_dir.iterdir()} >= {
        "config.yaml",
        "model.safetensors",
        "metrics.csv",
        "checkpoints",
    }
    rows = runs.read_metrics(run_dir)
    best_epoch = min(rows, key=lambda r: r["valid_loss"])["epoch"]
    from raekit.models.build import build_from_config
    from raekit.runs.weights import load_weights

    meta = load_weights(run_dir / "model.safetensors", build_from_config(runs.read_config(run_dir)))
    assert meta["epoch"] == best_epoch
    model, config = runs.load_run(run_dir)
    assert config.epochs == 3 and not model.training


def _interrupt_after(monkeypatch, steps, signum=signal.SIGTERM):
    original = EpochLoop._step
    count = {"n": 0}

    def step(self, x, batch):
        count["n"] += 1
        if count["n"] == steps:  # as if the signal arrived during this step
            self.stop.signum = signum
        return original(self, x, batch)

    monkeypatch.setattr(EpochLoop, "_step", step)


def test_interrupted_then_resumed_run_is_bit_identical(tmp_path, monkeypatch):
    data = tiny_digits()
    config = _config("vae", epochs=3)  # VAE: the noise RNG must be restored too
    clean = train(config, tmp_path / "clean", data=data)
    _interrupt_after(monkeypatch, 5)  # mid-epoch 2 (4 batches per epoch)
    with pytest.raises(TrainingInterrupted) as info:
        train(config, tmp_path / "resumed", data=data)
    assert info.value.exit_code == 143
    monkeypatch.undo()
    train(config, tmp_path / "resumed", data=data, resume=True)
    a, b = (
        load_file(clean / "model.safetensors"),
        load_file(tmp_path / "resumed" / "model.safetensors"),
    )
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    rows_a, rows_b = runs.read_metrics(clean), runs.read_metrics(tmp_path / "resumed")
    assert [r["valid_loss"] for r in rows_a] == [r["valid_loss"] for r in rows_b]


def test_sigint_exit_code_is_130(tmp_path, monkeypatch):
    _interrupt_after(monkeypatch, 2, signal.SIGINT)
    with pytest.raises(TrainingInterrupted) as info:
        train(_config(), tmp_path / "run", data=tiny_digits())
    assert info.value.exit_code == 130


def test_non_finite_loss_stops_before_the_step(tmp_path, monkeypatch):
    config = _config()
    data = tiny_digits()
    original = torch.optim.Adam.step
    steps = {"n": 0}

    def counting_step(self, *a, **k):
        steps["n"] += 1
        return original(self, *a, **k)

    monkeypatch.setattr(torch.optim.Adam, "step", counting_step)
    from raekit.models.autoencoder import Autoencoder

    real_loss = Autoencoder.loss

    def loss(self, x):
        terms = real_loss(self, x)
        if steps["n"] == 2:
            terms["rec"] = terms["rec"] * float("nan")
            terms["loss"] = terms["rec"]
        return terms

    monkeypatch.setattr(Autoencoder, "loss", loss)
    with pytest.raises(RaekitError, match=r"non-finite loss at epoch 1, batch 3 \(rec=nan"):
        train(config, tmp_path / "run", data=data)
    assert steps["n"] == 2


def test_skip_nonfinite_allows_k_bad_batches(tmp_path, monkeypatch, capsys):
    from raekit.models.autoencoder import Autoencoder

    real_loss = Autoencoder.loss
    calls = {"n": 0}

    def loss(self, x):
        terms = real_loss(self, x)
        calls["n"] += 1
        if self.training and calls["n"] in (2, 3):
            terms["loss"] = terms["loss"] * float("inf")
        return terms

    monkeypatch.setattr(Autoencoder, "loss", loss)
    train(_config(epochs=1, skip_nonfinite=2), tmp_path / "run", data=tiny_digits())
    assert capsys.readouterr().err.count("skipping non-finite loss") == 2


def test_existing_run_is_never_overwritten(tmp_path):
    run_dir = train(_config(epochs=1), tmp_path / "run", data=tiny_digits())
    before = (run_dir / "model.safetensors").read_bytes()
    with pytest.raises(RaekitError, match="already holds a run"):
        train(_config(epochs=1), run_dir, data=tiny_digits())
    assert (run_dir / "model.safetensors").read_bytes() == before


@pytest.mark.parametrize(
    "kw,message",
    [
        (dict(batch_size=1000), "larger than the training set"),
        (dict(epochs=0), "epochs must be at least 1"),
        (dict(width=0.0), r"width must be a finite number in \[1/1024, 64\], got 0.0"),
    ],
)
def test_bad_training_settings(tmp_path, kw, message):
    with pytest.raises(RaekitError, match=message):
        train(_config(**kw), tmp_path / "run", data=tiny_digits())


def test_resume_without_a_run_is_an_error(tmp_path):
    with pytest.raises(RaekitError, match="nothing to resume"):
        train(_config(), tmp_path / "none", data=tiny_digits(), resume=True)


def test_metrics_csv_has_one_row_per_epoch(tmp_path):
    run_dir = train(_config(epochs=2), tmp_path / "run", data=tiny_digits())
    with open(run_dir / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
