"""The early-stop rule (pure, on scripted validation losses, and in a real run), kept epochs,
exact resume of a run the rule ends, and the cpu-converged preset."""

import json
import math
import signal

import pytest
import torch
from safetensors.torch import load_file

from helpers import tiny_digits
from raekit import runs
from raekit.config import make_config
from raekit.errors import RaekitError, TrainingInterrupted
from raekit.paper import reuse
from raekit.training.epochs import EpochLoop
from raekit.training.loop import train
from raekit.training.stopping import kept_epochs, kept_weights, replay, rule_text, should_stop

FLAT = [3.0, 2.0, 1.0] + [1.0] * 20  # best at epoch 3, then no gain


def test_rule_counts_only_after_the_required_cuts():
    # lr_patience 1: every 2nd bad epoch cuts (5, 7, 9); the count starts at the 2nd cut (7).
    assert replay(FLAT, patience=3, after_cuts=2, lr_patience=1) == (10, [5, 7, 9])
    assert replay(FLAT, patience=3, after_cuts=1, lr_patience=1)[0] == 8  # 3 after the cut at 5
    assert replay(FLAT, patience=3, after_cuts=0, lr_patience=1)[0] == 6  # 3 after the best
    assert replay(FLAT, patience=None, after_cuts=0, lr_patience=1)[0] is None
    # More cuts asked than the curve produces: it never stops.
    assert replay(FLAT[:9], patience=1, after_cuts=3, lr_patience=1)[0] is None


def test_a_new_best_restarts_the_count_and_nan_is_no_gain():
    losses = [3.0, 2.0, 1.0, 1.0, 1.0, 0.5] + [math.nan] * 10
    # cut at epoch 5 (lr_patience 1), best moves to 6, then 2 epochs without gain.
    assert replay(losses, patience=2, after_cuts=1, lr_patience=1) == (8, [5, 8])
    assert should_stop(8, best_epoch=6, cut_epochs=[5], patience=2, after_cuts=1)
    assert not should_stop(7, best_epoch=6, cut_epochs=[5], patience=2, after_cuts=1)
    # The count starts at the required cut when it comes after the best epoch.
    assert not should_stop(9, best_epoch=3, cut_epochs=[5, 8], patience=2, after_cuts=2)
    assert should_stop(10, best_epoch=3, cut_epochs=[5, 8], patience=2, after_cuts=2)


def test_a_steadily_falling_loss_never_stops():
    losses = [1.0 / k for k in range(1, 101)]
    assert replay(losses, patience=1, after_cuts=0) == (None, [])


def test_rule_text_and_kept_epochs():
    assert rule_text(None, 2) is None
    assert (
        rule_text(10, 2)
        == "after 2 learning-rate cuts, 10 epochs without a new best validation loss"
    )
    assert rule_text(1, 0) == "1 epoch without a new best validation loss"
    assert kept_epochs(" 50,8, 25,8") == [8, 25, 50] and kept_epochs("") == []


def _config(**kw):
    base = dict(
        epochs=12,
        batch_size=50,
        width=0.0625,
        train_limit=None,
        valid_limit=None,
        lr=0.05,  # a loss that stalls within a few epochs on 200 images
        lr_patience=0,
        stop_patience=1,
        stop_after_cuts=1,
    )
    base.update(kw)
    return make_config("digits", "rae-l2", "tiny", **base)


def _losses(run_dir):
    return [(r["epoch"], r["lr"], r["valid_loss"]) for r in runs.read_metrics(run_dir)]


def _interrupt_after(monkeypatch, steps):
    original = EpochLoop._step
    count = {"n": 0}

    def step(self, x, batch):
        count["n"] += 1
        if count["n"] == steps:
            self.stop.signum = signal.SIGTERM
        return original(self, x, batch)

    monkeypatch.setattr(EpochLoop, "_step", step)


@pytest.mark.slow
def test_real_run_stops_by_the_rule_and_resumes_exactly(tmp_path, monkeypatch, capsys):
    data = tiny_digits()
    clean = train(_config(), tmp_path / "clean", data=data, progress=False)
    rows = runs.read_metrics(clean)
    stop, cuts = replay([r["valid_loss"] for r in rows], patience=1, after_cuts=1, lr_patience=0)
    assert stop == len(rows) < 12 and cuts  # the loop stopped where the rule says, after a cut
    status = json.loads((clean / "status.json").read_text())
    assert status["finished"] and status["stopped_early"] == {
        "epoch": stop,
        "rule": rule_text(1, 1),
    }
    assert reuse.is_finished(clean, runs.read_config(clean))
    # Interrupted after the cut was made: the resumed run must remember it to stop at all.
    _interrupt_after(monkeypatch, 4 * (cuts[0] + 1) + 2)
    with pytest.raises(TrainingInterrupted):
        train(_config(), tmp_path / "resumed", data=data, progress=False)
    monkeypatch.undo()
    train(_config(), tmp_path / "resumed", data=data, resume=True, progress=False)
    a, b = load_file(clean / "model.safetensors"), load_file(tmp_path / "resumed/model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _losses(tmp_path / "resumed") == _losses(clean)
    # Resuming the stopped run (even with more epochs) trains nothing and says it is complete.
    capsys.readouterr()
    train(_config(epochs=20), clean, data=data, resume=True, progress=False)
    assert "is complete: training stopped early after epoch" in capsys.readouterr().err
    assert len(runs.read_metrics(clean)) == len(rows)
    assert runs.stopped_early(clean)["epoch"] == stop


@pytest.mark.slow
def test_kept_epochs_hold_what_a_shorter_run_ends_with(tmp_path):
    data = tiny_digits()
    config = _config(stop_patience=None, lr=1e-3, epochs=4, keep_epochs="2,3", keep_checkpoints=1)
    long = train(config, tmp_path / "long", data=data, progress=False)
    short = train(_config(stop_patience=None, lr=1e-3, epochs=2), tmp_path / "short", data=data)
    kept = load_file(kept_weights(long, 2))
    ended = load_file(short / "model.safetensors")
    assert kept.keys() == ended.keys() and all(torch.equal(kept[k], ended[k]) for k in kept)
    assert kept_weights(long, 3).is_file() and not kept_weights(long, 4).is_file()
    names = sorted(p.name for p in (long / "checkpoints").glob("*.json"))
    assert names == [f"epoch-{e:04d}-step-000000.json" for e in (2, 3, 4)]


def test_cpu_converged_preset_and_its_keys():
    config = make_config("mnist", "vae", "cpu-converged")
    assert (config.width, config.epochs, config.lr_patience, config.lr_factor) == (
        0.0625,
        100,
        5,
        0.5,
    )
    assert (config.stop_patience, config.stop_after_cuts, config.keep_epochs) == (10, 2, "8,25,50")
    assert make_config("mnist", "vae", "cpu").stop_patience is None  # the quick preset is unchanged
    with pytest.raises(RaekitError, match="image datasets"):
        make_config("expressions", "gvae", "cpu-converged")


@pytest.mark.parametrize(
    "key, value",
    [
        ("keep_epochs", "8,,25"),
        ("keep_epochs", "0"),
        ("stop_patience", "0"),
        ("stop_after_cuts", "-1"),
    ],
)
def test_bad_stop_keys_are_refused(key, value):
    with pytest.raises(RaekitError, match=key):
        make_config("digits", "rae-l2", "tiny", **{key: value})
