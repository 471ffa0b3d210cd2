"""Faults end to end on real `raekit train` processes: kills, signals, damaged and hostile
checkpoints, determinism; and a scan of src/ for loaders that can run code."""

import ast
import hashlib
import json
import pathlib
import pickle
import shutil
import signal
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

import ddp_worker
from ddp_worker import SRC, launch
from helpers import cli_env, run_cli
from raekit import runs
from raekit.runs.checkpoint import checkpoint_number, list_checkpoints
from raekit.runs.tensor_pairs import FORMAT

# VAE (noise RNG in play) on 300 digits: 6 batches an epoch, 3 epochs, a few seconds a run.
TRAIN = [
    "train",
    "--dataset",
    "digits",
    "--model",
    "vae",
    "--preset",
    "tiny",
    "--set",
    "train_limit=300",
    "valid_limit=60",
    "batch_size=50",
]
EPOCH = 1_000_000  # checkpoint step = epoch * EPOCH + batch
WORKER = ddp_worker.__file__


def _ok(result):
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def _steps(run_dir):
    return [checkpoint_number(p.name) for p in list_checkpoints(run_dir / runs.CHECKPOINTS)]


def _assert_same_run(a, b):
    """Best weights, every tensor of the newest checkpoint (model, Adam, RNG) and the losses logged."""
    pairs = [
        (a / runs.WEIGHTS_FILE, b / runs.WEIGHTS_FILE),
        *(
            (
                list_checkpoints(d / runs.CHECKPOINTS)[-1].with_suffix(".safetensors")
                for d in (a, b)
            ),
        ),
    ]
    for x, y in pairs:
        tx, ty = load_file(x), load_file(y)
        assert tx.keys() == ty.keys() and all(torch.equal(tx[k], ty[k]) for k in tx), (x, y)
    losses = [[(r["train_loss"], r["valid_loss"]) for r in runs.read_metrics(d)] for d in (a, b)]
    assert losses[0] == losses[1] and len(losses[0]) == 3


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """An uninterrupted 3-epoch run."""
    out = tmp_path_factory.mktemp("clean") / "run"
    _ok(run_cli([*TRAIN, "--epochs", "3", "--out", str(out)]))
    return out


@pytest.fixture(scope="module")
def two_epochs(tmp_path_factory):
    """The same run stopped after 2 of 3 epochs (checkpoints at the ends of epochs 1 and 2)."""
    out = tmp_path_factory.mktemp("two") / "run"
    _ok(run_cli([*TRAIN, "--epochs", "2", "--out", str(out)]))
    assert _steps(out) == [EPOCH, 2 * EPOCH]
    return out


@pytest.mark.slow
def test_same_seed_gives_bitwise_equal_runs(clean, tmp_path):
    _ok(run_cli([*TRAIN, "--epochs", "3", "--out", str(tmp_path / "again")]))
    _assert_same_run(clean, tmp_path / "again")


@pytest.mark.slow
@pytest.mark.parametrize(
    "kill, steps_left",
    [("1:3:0", [EPOCH]), ("0:3:0", [])],
    ids=["mid-epoch-2", "before-the-first-checkpoint"],
)
def test_sigkill_mid_epoch_then_resume_is_bit_identical(clean, tmp_path, kill, steps_left):
    out = tmp_path / "run"
    killed = launch(["cli", *TRAIN, "--epochs", "3", "--out", str(out)], RAEKIT_WORKER_KILL=kill)
    assert killed.returncode == -signal.SIGKILL
    assert _steps(out) == steps_left  # nothing was saved after the last epoch end
    resumed = _ok(run_cli(["train", "--out", str(out), "--resume"]))
    assert ("no checkpoint yet" in resumed.stderr) == (not steps_left)
    _assert_same_run(clean, out)


@pytest.mark.slow
@pytest.mark.parametrize(
    "sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
def test_signal_checkpoints_exits_and_resumes_identically(clean, tmp_path, sig, code):
    out, log = tmp_path / "run", tmp_path / "stderr.txt"
    with open(log, "w") as err:
        # Epochs 2 and 3 crawl (0.5 s a step), so the signal lands inside them, never after.
        child = subprocess.Popen(
            [sys.executable, WORKER, "cli", *TRAIN, "--epochs", "3", "--out", str(out)],
            env=cli_env(RAEKIT_WORKER_STEP_DELAY="1:0.5"),
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        try:
            first = child.stdout.readline()  # training is under way once epoch 1 is logged
            assert first.startswith("epoch 1/3"), first + log.read_text()
            child.send_signal(sig)
            child.stdout.read()
            assert child.wait(timeout=60) == code
        finally:
            child.kill()
            child.wait()
    assert f"interrupted by {sig.name}" in log.read_text()
    newest = _steps(out)[-1]  # the stop is noticed after a step, and checkpointed there
    assert EPOCH < newest < 3 * EPOCH and newest % EPOCH != 0
    _ok(run_cli(["train", "--out", str(out), "--resume", "--epochs", "3"]))
    _assert_same_run(clean, out)


@pytest.mark.slow
def test_kill_during_a_checkpoint_write_keeps_the_previous_one(clean, tmp_path):
    out = tmp_path / "run"
    killed = launch(
        ["cli", *TRAIN, "--epochs", "3", "--out", str(out)], RAEKIT_WORKER_KILL_IN_SAVE="2"
    )
    assert killed.returncode == -signal.SIGKILL
    names = {p.name for p in (out / runs.CHECKPOINTS).iterdir()}
    assert any(
        n.startswith(".epoch-0002-step-000000.safetensors.") for n in names
    )  # the write in flight
    assert _steps(out) == [EPOCH]
    _ok(run_cli(["train", "--out", str(out), "--resume"]))
    _assert_same_run(clean, out)
    assert not [p for p in (out / runs.CHECKPOINTS).iterdir() if p.name.endswith(".tmp")]


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garble(path):
    path.write_text('{"format": 1, "sha256": "')


@pytest.mark.slow
@pytest.mark.parametrize(
    "damage, suffix",
    [(_truncate, ".safetensors"), (_garble, ".json")],
    ids=["truncated-tensors", "garbage-json"],
)
def test_damaged_newest_checkpoint_falls_back_to_the_previous(
    clean, two_epochs, tmp_path, damage, suffix
):
    out = tmp_path / "run"
    shutil.copytree(two_epochs, out)
    damage(out / runs.CHECKPOINTS / f"epoch-0002-step-000000{suffix}")
    resumed = _ok(run_cli(["train", "--out", str(out), "--resume", "--epochs", "3"]))
    assert (
        "skipping damaged checkpoint" in resumed.stderr
        and "epoch-0002-step-000000" in resumed.stderr
    )
    assert resumed.stdout.startswith("epoch 2/3")  # epoch 2 is trained again
    _assert_same_run(clean, out)


class _Payload:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


@pytest.mark.slow
def test_a_pickle_planted_as_a_checkpoint_is_refused_and_runs_nothing(two_epochs, tmp_path):
    out, marker = tmp_path / "run", tmp_path / "pwned"
    shutil.copytree(two_epochs, out)
    shutil.rmtree(out / runs.CHECKPOINTS)
    stem = out / runs.CHECKPOINTS / "epoch-0009-step-000000"
    stem.parent.mkdir()
    stem.with_suffix(".safetensors").write_bytes(pickle.dumps(_Payload(marker), protocol=4))
    digest = hashlib.sha256(stem.with_suffix(".safetensors").read_bytes()).hexdigest()
    stem.with_suffix(".json").write_text(
        json.dumps({"format": FORMAT, "sha256": digest})
    )  # vouches for it
    before = {p.name: p.stat().st_mtime_ns for p in out.rglob("*")}
    result = run_cli(["train", "--out", str(out), "--resume"])
    assert result.returncode == 2 and "pickle" in result.stderr and "Traceback" not in result.stderr
    assert not marker.exists() and not result.stdout  # no code ran, no epoch was trained
    assert {p.name: p.stat().st_mtime_ns for p in out.rglob("*")} == before


# --- no loader in src/ may run code from a file -------------------------------------------------

_NEVER = {
    "pickle.load",
    "pickle.loads",
    "pickle.Unpickler",
    "_pickle.load",
    "_pickle.loads",
    "dill.load",
    "dill.loads",
    "joblib.load",
    "marshal.load",
    "marshal.loads",
    "shelve.open",
    "pandas.read_pickle",
    "yaml.load",
    "yaml.load_all",
    "yaml.full_load",
    "yaml.full_load_all",
    "yaml.unsafe_load",
    "yaml.unsafe_load_all",
}


def _dotted(node, aliases):
    """'pickle.load' for `pickle.load`, `p.load` after `import pickle as p`, or `load` after
    `from pickle import load`; None for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([aliases.get(node.id, node.id), *reversed(parts)])


def _keyword_is(call, name, value):
    return any(
        k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is value
        for k in call.keywords
    )


def unsafe_loads(source, filename="<string>"):
    """Every call in `source` that could unpickle (or yaml-construct) arbitrary objects."""
    tree = ast.parse(source, filename)
    aliases = {"np": "numpy", "pd": "pandas"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update({a.asname or a.name: a.name for a in node.names})
        elif isinstance(node, ast.ImportFrom) and node.module:
            aliases.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
    problems = []
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.ClassDef) and "pickle.Unpickler" in {
            _dotted(b, aliases) for b in node.bases
        }:
            # A subclass is allowed only as a whitelist: a find_class override that refuses.
            finders = [
                f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "find_class"
            ]
            if not finders or not any(isinstance(n, ast.Raise) for n in ast.walk(finders[0])):
                problems.append(f"{where}: {node.name} unpickles without a refusing find_class")
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func, aliases)
        if name in _NEVER:
            problems.append(f"{where}: {name}")
        elif name == "torch.load" and not _keyword_is(node, "weights_only", True):
            problems.append(f"{where}: torch.load without weights_only=True")
        elif name == "numpy.load" and not (
            _keyword_is(node, "allow_pickle", False)
            or all(k.arg != "allow_pickle" for k in node.keywords)
        ):
            problems.append(f"{where}: numpy.load with allow_pickle")
    return problems


@pytest.mark.parametrize(
    "snippet",
    [
        "import pickle\npickle.load(f)",
        "import pickle as p\np.loads(b)",
        "from pickle import load\nload(f)",
        "import pickle\npickle.Unpickler(f).load()",
        "import pickle\nclass U(pickle.Unpickler):\n    pass",
        "import torch\ntorch.load(p)",
        "import torch\ntorch.load(p, weights_only=False)",
        "import yaml\nyaml.load(s)",
        "import yaml\nyaml.load(s, Loader=yaml.FullLoader)",
        "import yaml\nyaml.full_load(s)",
        "from yaml import unsafe_load\nunsafe_load(s)",
        "import numpy as np\nnp.load(p, allow_pickle=True)",
        "import numpy\nnumpy.load(p, allow_pickle=flag)",
        "import joblib\njoblib.load(p)",
    ],
)
def test_scanner_flags_every_unsafe_loader(snippet):
    assert len(unsafe_loads(snippet)) == 1


@pytest.mark.parametrize(
    "snippet",
    [
        "import torch\ntorch.load(p, map_location='cpu', weights_only=True)",
        "import yaml\nyaml.safe_load(s)",
        "import numpy as np\nnp.load(p)",
        "import numpy as np\nnp.load(p, allow_pickle=False)",
        "import json\njson.load(f)",
        "import pickle\ntry:\n    f()\nexcept pickle.UnpicklingError:\n    raise",
        (
            "import pickle\nclass A(pickle.Unpickler):\n    def find_class(self, m, n):\n        if m != 'numpy':\n"
            "            raise ValueError(m)\n        return super().find_class(m, n)\nA(f).load()"
        ),
    ],
)
def test_scanner_passes_safe_loaders(snippet):
    assert unsafe_loads(snippet) == []


def test_no_loader_in_src_can_run_code():
    files = sorted(pathlib.Path(SRC).rglob("*.py"))
    assert len(files) > 30
    problems = [p for f in files for p in unsafe_loads(f.read_text(encoding="utf-8"), str(f))]
    assert problems == []
