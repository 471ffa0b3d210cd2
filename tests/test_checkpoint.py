"""Checkpoints: exact round trips, bit-identical resumption, pruning, damage and kill recovery, no pickle."""

import hashlib
import json
import os
import pathlib
import pickle
import random
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from raekit.errors import RaekitError
from raekit.runs import checkpoint as ck
from raekit.runs import tensor_pairs
from raekit.runs import weights as wt

SRC = str(pathlib.Path(__file__).resolve().parents[1] / "src")


def make_model(seed=0, hidden=6):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(4, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(hidden, 3),
    )


def make_training(seed=0, hidden=6):
    model = make_model(seed, hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
    return model, optimizer, scheduler


def train_step(model, optimizer):
    """One step whose batch and dropout mask come from the global torch RNG, so RNG state matters."""
    x = torch.randn(8, 4)
    loss = model(x).pow(2).mean() + 0.01 * float(np.random.rand()) * random.random()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def save(directory, epoch, training, extra=None, keep=3):
    return ck.save_checkpoint(directory, epoch, *training, extra or {}, keep=keep)


def epochs(directory):
    return [ck.checkpoint_number(p.name) for p in ck.list_checkpoints(directory)]


def assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_round_trip_is_exact(tmp_path):
    model, optimizer, scheduler = make_training(0)
    for loss in (1.0, 0.5, 0.7, 0.8, 0.9):  # two plateaus: lr halved, counters non-zero
        train_step(model, optimizer)
        scheduler.step(loss)
    assert optimizer.param_groups[0]["lr"] == 5e-3 and scheduler.num_bad_epochs > 0
    gen = np.random.default_rng(7)
    extra = {
        "history": [{"loss": 0.25, "lr": 1e-3}],
        "best": float("inf"),
        "nan": float("nan"),
        "pair": (1, "a"),
        "ints": {3: "x"},
        "tagged": {"__tensor__": "not a tensor"},
        "array": np.arange(6, dtype=np.int16).reshape(2, 3),
        "tensor": torch.tensor([1.5, -2.0]),
        "gen": gen,
        "np_scalar": np.float32(0.1),
    }
    save(tmp_path, 5, (model, optimizer, scheduler), extra)
    expected = (torch.rand(3), np.random.rand(3), random.random(), gen.random())
    torch.manual_seed(99), np.random.seed(99), random.seed(99)  # scramble every RNG

    fresh = make_training(1)
    loaded = ck.load_checkpoint(tmp_path, *fresh)
    assert_same_state(model, fresh[0])
    sa, sb = optimizer.state_dict(), fresh[1].state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    for pid, slots in sa["state"].items():
        assert set(slots) == {"step", "exp_avg", "exp_avg_sq"}
        assert all(torch.equal(slots[k], sb["state"][pid][k]) for k in slots)
    assert scheduler.state_dict() == fresh[2].state_dict()
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1]) and random.random() == expected[2]
    assert loaded["gen"].random() == expected[3]
    assert (
        loaded["step"] == 5 and loaded["history"] == extra["history"] and loaded["pair"] == (1, "a")
    )
    assert loaded["best"] == float("inf") and np.isnan(loaded["nan"]) and loaded["ints"] == {3: "x"}
    assert loaded["tagged"] == {"__tensor__": "not a tensor"}
    assert loaded["array"].dtype == np.int16 and np.array_equal(loaded["array"], extra["array"])
    assert torch.equal(loaded["tensor"], extra["tensor"]) and loaded["np_scalar"] == float(
        np.float32(0.1)
    )


def test_tensor_learning_rate_round_trips(tmp_path):
    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=torch.tensor(0.01), foreach=False)
    train_step(model, optimizer)
    ck.save_checkpoint(tmp_path, 1, model, optimizer, None, {})
    other = torch.optim.Adam(make_model(1).parameters(), lr=torch.tensor(0.5), foreach=False)
    ck.load_checkpoint(tmp_path, make_model(1), other)
    assert torch.equal(other.param_groups[0]["lr"], torch.tensor(0.01))


def test_resume_is_bit_identical(tmp_path):
    torch.manual_seed(3), np.random.seed(3), random.seed(3)
    model, optimizer, _ = make_training(0)
    for step in range(5):
        train_step(model, optimizer)
        if step == 1:
            ck.save_checkpoint(tmp_path, 2, model, optimizer, None, {})
    torch.manual_seed(42), np.random.seed(42), random.seed(42)
    resumed, resumed_opt, _ = make_training(1)
    ck.load_checkpoint(tmp_path, resumed, resumed_opt)
    for _ in range(3):
        train_step(resumed, resumed_opt)
    assert_same_state(model, resumed)


def test_pruning_keeps_exactly_the_last_k(tmp_path):
    training = make_training()
    for epoch in range(1, 7):
        save(tmp_path, epoch, training, keep=3)
    assert epochs(tmp_path) == [4, 5, 6]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"epoch-0000-step-{e:06d}.{s}" for e in (4, 5, 6) for s in ("json", "safetensors")
    )
    with pytest.raises(RaekitError, match="keep must be at least 1"):
        save(tmp_path, 7, training, keep=0)


def test_pruning_skips_damaged_and_large_epoch_numbers_sort_numerically(tmp_path):
    training = make_training()
    for epoch in (999_999, 1_000_000):
        save(tmp_path, epoch, training, keep=2)
    (tmp_path / "epoch-0001-step-000000.json").write_text(
        "{"
    )  # damaged: must not count as one of the kept
    save(tmp_path, 2_000_001, training, keep=2)
    assert epochs(tmp_path) == [999_999, 2_000_001]


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_last_byte(path):
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # same length, still parses: only the hash can tell
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage,suffix",
    [
        (_truncate, "safetensors"),
        (lambda p: p.write_text("{not json"), "json"),
        (_flip_last_byte, "safetensors"),
    ],
)
def test_damaged_newest_falls_back_with_a_warning(tmp_path, damage, suffix):
    model, optimizer, scheduler = make_training()
    save(tmp_path, 1, (model, optimizer, scheduler))
    good = {k: v.clone() for k, v in model.state_dict().items()}
    train_step(model, optimizer)
    save(tmp_path, 2, (model, optimizer, scheduler))
    damage(tmp_path / f"epoch-0000-step-000002.{suffix}")
    fresh = make_training(1)
    with pytest.warns(UserWarning, match=f"epoch-0000-step-000002.{suffix}"):
        assert ck.load_checkpoint(tmp_path, *fresh)["step"] == 1
    assert all(torch.equal(fresh[0].state_dict()[k], v) for k, v in good.items())
    assert ck.latest_checkpoint(tmp_path).name == "epoch-0000-step-000001.json"


def test_all_damaged_or_none_is_a_clear_error(tmp_path):
    with pytest.raises(RaekitError, match="no checkpoint in .* to resume from"):
        ck.load_checkpoint(tmp_path / "missing", make_model())
    save(tmp_path, 1, make_training())
    _truncate(tmp_path / "epoch-0000-step-000001.safetensors")
    with (
        pytest.warns(UserWarning),
        pytest.raises(RaekitError, match=r"no valid checkpoint .* \(1 damaged"),
    ):
        ck.load_checkpoint(tmp_path, make_model())
    assert ck.latest_checkpoint(tmp_path) is None


def test_leftovers_of_a_killed_write_are_ignored_and_cleaned(tmp_path):
    training = make_training()
    save(tmp_path, 2, training)
    (tmp_path / ".epoch-0000-step-000003.safetensors.x1y2.tmp").write_bytes(b"half a file")
    (tmp_path / "epoch-0000-step-000003.safetensors").write_bytes(
        (tmp_path / "epoch-0000-step-000002.safetensors").read_bytes()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an uncommitted write is not damage: no warning either
        assert ck.load_checkpoint(tmp_path, make_model(1))["step"] == 2
    assert (
        epochs(tmp_path) == [2]
        and ck.latest_checkpoint(tmp_path).name == "epoch-0000-step-000002.json"
    )
    save(tmp_path, 3, training)
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("failing", [".safetensors", ".json"])
def test_failure_midway_keeps_the_previous_checkpoint(tmp_path, monkeypatch, failing):
    model, optimizer, scheduler = make_training()
    save(tmp_path, 1, (model, optimizer, scheduler), keep=1)
    good = {k: v.clone() for k, v in model.state_dict().items()}
    train_step(model, optimizer)
    real_replace = os.replace

    def crashing_replace(src, dst):
        if str(dst).endswith(failing):
            raise OSError("simulated crash")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crashing_replace)
    with pytest.raises(RaekitError, match="simulated crash"):
        save(tmp_path, 2, (model, optimizer, scheduler), keep=1)
    monkeypatch.undo()
    fresh = make_model(1)
    assert ck.load_checkpoint(tmp_path, fresh)["step"] == 1
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in good.items())


KILLED_WRITER = """
import os, sys, time, torch
from raekit.runs import checkpoint as ck
out, flag = sys.argv[1], sys.argv[2]
model = torch.nn.Linear(64, 64)
opt = torch.optim.Adam(model.parameters())
ck.save_checkpoint(out, 1, model, opt, None, {"n": 1})
def slow_fsync(fd):
    open(flag, "w").close()  # tell the parent we are inside the second write
    time.sleep(60)
os.fsync = slow_fsync
ck.save_checkpoint(out, 2, model, opt, None, {"n": 2})
"""


def test_sigkill_during_a_write_leaves_the_previous_checkpoint(tmp_path):
    flag = tmp_path / "writing"
    env = {**os.environ, "PYTHONPATH": SRC}
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(tmp_path / "ck"), str(flag)], env=env
    )
    deadline = time.monotonic() + 50
    while not flag.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert flag.exists(), "the writer never reached its second checkpoint"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert any(p.name.endswith(".tmp") for p in (tmp_path / "ck").iterdir())  # killed mid-write
    assert ck.load_checkpoint(tmp_path / "ck", nn.Linear(64, 64)) == {"n": 1, "step": 1}


class _Payload:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


@pytest.mark.parametrize("kind", ["payload", "torch.save"])
def test_pickles_are_refused_and_never_run(tmp_path, kind):
    marker = tmp_path / "pwned"
    stem = tmp_path / "ck" / "epoch-0000-step-000001"
    stem.parent.mkdir()
    if kind == "payload":
        stem.with_suffix(".safetensors").write_bytes(pickle.dumps(_Payload(marker), protocol=4))
    else:
        torch.save(
            {"model": make_model().state_dict(), "x": _Payload(marker)},
            stem.with_suffix(".safetensors"),
        )
    # A JSON that vouches for the pickle's hash must not help it through.
    digest = hashlib.sha256(stem.with_suffix(".safetensors").read_bytes()).hexdigest()
    stem.with_suffix(".json").write_text(
        json.dumps({"format": tensor_pairs.FORMAT, "sha256": digest})
    )
    with pytest.warns(UserWarning, match="pickle"), pytest.raises(RaekitError, match="pickle"):
        ck.load_checkpoint(stem.parent, make_model())
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(stem.with_suffix(".safetensors").read_bytes())
    with pytest.raises(RaekitError, match="pickle"):
        wt.load_weights(weights, make_model())
    assert not marker.exists()


def test_checkpoint_of_another_model_is_refused(tmp_path):
    save(tmp_path, 1, make_training(hidden=6))
    with pytest.raises(
        RaekitError, match=r"different model: 0.weight has shape \(6, 4\), model \(5, 4\)"
    ):
        ck.load_checkpoint(tmp_path, make_model(hidden=5))
    with pytest.raises(RaekitError, match="missing 5.weight"):
        ck.load_checkpoint(tmp_path, nn.Sequential(*make_model(), nn.Linear(3, 2)))


def test_weights_slot_round_trip_and_interrupted_save(tmp_path):
    path = tmp_path / "model.safetensors"
    model = make_model(0)
    wt.save_weights(path, model, {"epoch": 3, "valid_loss": 0.125})
    fresh = make_model(1)
    assert wt.load_weights(path, fresh) == {"epoch": 3, "valid_loss": 0.125}
    assert_same_state(model, fresh)
    stale_json = path.with_suffix(".json").read_text()
    newer = make_model(2)
    wt.save_weights(path, newer, {"epoch": 4, "valid_loss": 0.1})
    path.with_suffix(".json").write_text(stale_json)  # as if killed between the two renames
    with pytest.warns(UserWarning, match="model.json does not match"):
        assert wt.load_weights(path, fresh) == {"epoch": 4, "valid_loss": 0.1}
    assert_same_state(newer, fresh)
    _truncate(path)
    with pytest.raises(RaekitError, match="not a complete safetensors"):
        wt.load_weights(path, fresh)
    with pytest.raises(RaekitError, match="different model"):
        wt.save_weights(path, model, {}) or wt.load_weights(path, make_model(hidden=5))
