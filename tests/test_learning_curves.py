"""Learning curves from kept epochs: each point is the runs as of that epoch, evaluated like a
reproduction of that length (digits, 3 epochs, a few hundred samples)."""

import csv
import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from raekit import runs
from raekit.errors import RaekitError
from raekit.metrics.classifier import pinned_fingerprint
from raekit.paper import learning_curves as lc
from raekit.paper.reproduce import reproduce
from raekit.training.stopping import kept_weights

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def _script(name="learning_curves"):
    spec = importlib.util.spec_from_file_location(f"{name}_script", EXPERIMENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def repro(tmp_path_factory):
    out = tmp_path_factory.mktemp("repro")
    overrides = {"epochs": 3, "keep_epochs": "1,2", "train_limit": 300, "valid_limit": 100}
    reproduce(
        "digits",
        "tiny",
        out,
        models=("ae", "vae", "2svae"),
        n=100,
        overrides=overrides,
        figures=False,
        estimate=False,
    )
    return out


@pytest.mark.slow
def test_points_are_the_runs_as_of_each_kept_epoch(repro, tmp_path):
    out = tmp_path / "curves"
    assert (
        _script().main([str(repro), "--out", str(out), "--epochs", "1,2", "--paper", "mnist"]) == 0
    )
    for epoch in (1, 2):
        point = out / lc.point_name(epoch)
        for model in ("ae", "vae"):
            run = point / model / "seed0"
            # the kept weights, byte for byte, in a run folder that says it is E epochs long
            assert _sha(run / "model.safetensors") == _sha(
                kept_weights(repro / model / "seed0", epoch)
            )
            assert runs.read_config(run).epochs == epoch and len(runs.read_metrics(run)) == epoch
        assert (point / "2svae" / "seed0" / "first_stage.json").is_file()  # this point's VAE
        # every point is scored in the source's feature space (its pinned classifier)
        used = json.loads((point / "ae" / "seed0" / "eval.json").read_text())
        assert used["extractor_fingerprint"] == pinned_fingerprint(repro / "classifier")
    with open(out / "learning_curves.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["point"], r["model"]) for r in rows} == {
        (p, m) for p in ("epoch-001", "epoch-002", "final") for m in ("ae", "vae", "2svae")
    }
    final = [r for r in rows if r["point"] == "final"]
    assert {r["epoch"] for r in final} == {"3"} and all(
        float(r["GMM"]) > 0 for r in rows if r["GMM"]
    )
    summary = json.loads((out / "learning_curves.json").read_text())
    assert summary["command"].startswith("python experiments/learning_curves.py")
    sources = summary["points"][0]["sources"]
    assert sources["vae"]["sha256"] == _sha(kept_weights(repro / "vae" / "seed0", 1))
    with open(out / "spearman.csv") as handle:
        rhos = list(csv.DictReader(handle))
    assert len(rhos) == 3 * 4 and {r["column"] for r in rhos} == {"REC", "N", "GMM", "Interp"}
    assert all((out / f"fid-{c}.png").stat().st_size > 0 for c in ("rec", "n", "gmm", "interp"))


@pytest.mark.slow
def test_the_final_point_may_come_from_another_reproduction(repro, tmp_path):
    # kept epochs from one training, the runs as they ended from another of the same config
    other = tmp_path / "other"
    shutil.copytree(repro, other)
    args = [str(repro), "--out", str(tmp_path / "c"), "--epochs", "1", "--paper", "mnist"]
    assert _script().main([*args, "--models", "ae", "--final-from", str(other)]) == 0
    points = json.loads((tmp_path / "c" / "learning_curves.json").read_text())["points"]
    kept, final = (p["sources"]["ae"]["source"] for p in points)
    assert kept.startswith(str(repro / "ae")) and final.startswith(str(other / "ae"))


def test_a_missing_final_from_is_one_line_before_any_work(repro, tmp_path, capsys):
    out = tmp_path / "c"
    argv = [str(repro), "--out", str(out), "--final-from", str(tmp_path / "none")]
    assert _script().main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "none" in err and "does not exist" in err
    assert not out.exists()


def test_an_epoch_not_kept_is_refused_and_one_not_reached_is_left_out(repro, tmp_path):
    run = repro / "ae" / "seed0"
    assert lc.weights_as_of(run, 3) == run / "model.safetensors"  # the last epoch: as it ended
    assert lc.weights_as_of(run, 7) == run / "model.safetensors"  # it ended before
    copy = tmp_path / "ae"
    shutil.copytree(run, copy)
    kept_weights(copy, 2).unlink()
    with pytest.raises(RaekitError, match="trained past epoch 2 without keeping it"):
        lc.weights_as_of(copy, 2)
    # Still training, one epoch done: epoch 2 is not reached yet, and the point leaves it out.
    runs.write_status(copy, finished=False, epochs=3)
    runs.write_metrics(copy, runs.read_metrics(copy)[:1])
    assert lc.weights_as_of(copy, 2) is None and lc.materialize(copy, tmp_path / "x", 2) is None
    assert lc.materialize(copy, tmp_path / "y", None) is None  # nor is it final


def _pixels(images):
    """A second feature space for the test: 4x4 average-pooled pixels."""
    x = np.asarray(images, dtype=np.float64).reshape(len(images), -1, 8, 4, 8, 4)
    return x.mean(axis=(3, 5)).reshape(len(images), -1)


class _Counted:
    """An extractor that records its calls, named (fingerprint) as the one it wraps."""

    def __init__(self, name, extractor, calls):
        self.name, self.extractor, self.calls = name, extractor, calls
        self.fingerprint = getattr(extractor, "fingerprint", name)

    def __call__(self, images):
        self.calls.append(self.name)
        return self.extractor(images)


@pytest.mark.slow
def test_crosscheck_scores_the_same_images_in_each_feature_space(repro, tmp_path):
    from raekit.data import load_images
    from raekit.metrics import get_extractor
    from raekit.paper.crosscheck import Scorer

    data = load_images("digits")
    extractors = {"classifier": get_extractor("classifier", dataset="digits", data=data)}
    extractors["pixels"] = _pixels
    script, out = _script("inception_crosscheck"), tmp_path / "cross"
    argv = [
        str(repro),
        "--out",
        str(out),
        "--n",
        "60",
        "--columns",
        "REC,N,GMM",
        "--paper",
        "mnist",
    ]
    assert script.main(argv, extractors=extractors) == 0
    summary = json.loads((out / "crosscheck.json").read_text())
    got = {(r["model"], r["column"], r["features"]) for r in summary["fid"]}
    assert ("2svae", "N", "pixels") in got and ("2svae", "GMM", "pixels") not in got  # its VAE's
    assert len(got) == (3 + 3 + 1) * 2 and all(r["fid"] > 0 for r in summary["fid"])
    # the floor: real training images against the same test images, in each space
    floor = Scorer(extractors, data.test[:60])(data.train[:60])
    assert summary["floor"] == pytest.approx(floor)
    assert {(r["features"], r["column"]) for r in summary["spearman"]} == {
        (f, c) for f in ("classifier", "pixels") for c in ("REC", "N", "GMM")
    }
    # Run again (as after a stop): every statistic and FID comes from OUT/cache, no feature is
    # computed, and the summary is the same.
    calls = []
    counted = {k: _Counted(k, f, calls) for k, f in extractors.items()}
    assert script.main(argv, extractors=counted) == 0
    assert calls == [] and json.loads((out / "crosscheck.json").read_text()) == summary
    assert script.main([*argv[:-4], "--columns", "FID"], extractors=extractors) == 2
