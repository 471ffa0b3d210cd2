"""reproduce with several seeds, partial runs, reuse rules and the time estimate (digits, 1 epoch)."""

import hashlib
import json
import shutil

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from raekit import runs
from raekit.cli import main
from raekit.errors import RaekitError
from raekit.metrics import classifier as clf
from raekit.metrics.classifier import pinned_fingerprint
from raekit.paper.reproduce import plan, reproduce

FAST = {"epochs": 1}


def _hashes(folder):
    return {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def repro(tmp_path_factory):
    out = tmp_path_factory.mktemp("repro")
    results = reproduce(
        "digits", "tiny", out, models=("ae", "2svae", "vae"), seeds=(0, 1), n=100, overrides=FAST
    )
    return out, results


def test_runs_live_in_model_seed_folders_and_results_hold_every_seed(repro):
    out, results = repro
    for model in ("ae", "vae"):
        for seed in (0, 1):
            run = out / model / f"seed{seed}"
            assert (run / "model.safetensors").is_file() and json.loads(
                (run / "eval.json").read_text()
            )["seed"] == seed
    saved = json.loads((out / "results.json").read_text())
    assert saved["seeds"] == [0, 1] and set(saved["runs"]["ae"]) == {"0", "1"}
    assert (
        saved["runs"]["ae"]["1"]["run"] == "ae/seed1"
        and saved["runs"]["ae"]["0"]["train_seconds"] > 0
    )
    values = [saved["runs"]["vae"][s]["fid"]["gmm"] for s in ("0", "1")]
    agg = saved["aggregate"]["vae"]["fid"]["gmm"]
    assert agg["mean"] == pytest.approx(np.mean(values)) and agg["std"] == pytest.approx(
        np.std(values, ddof=1)
    )
    assert "precision" not in saved["runs"]["ae"]["0"]["prd"]["gmm"]  # curves stay in eval.json
    assert {c["claim"] for c in saved["claims"]} == {"1", "2", "3", "4", "5", "6", "7", "8", "R1"}
    assert all("quote" in c and "rule" in c and "paper_status" in c for c in saved["claims"])
    assert "--seeds 0,1" in saved["command"]
    table = (out / "table1.md").read_text()
    assert "| vae | 2 | " in table and f"{agg['mean']:.2f} ± {agg['std']:.2f}" in table
    assert "The paper's claims" in (out / "report.html").read_text()


def test_the_2svae_reuses_the_vae_of_its_seed_as_first_stage(repro):
    out, _ = repro
    saved = json.loads((out / "results.json").read_text())
    for seed in ("0", "1"):
        vae, two = out / "vae" / f"seed{seed}", out / "2svae" / f"seed{seed}"
        assert (two / "model.safetensors").read_bytes() == (vae / "model.safetensors").read_bytes()
        assert json.loads((two / "first_stage.json").read_text()) == {
            "first_stage": f"vae/seed{seed}"
        }
        entry = saved["runs"]["2svae"][seed]
        assert entry["train_seconds"] == 0.0 and entry["first_stage"] == f"vae/seed{seed}"
        assert entry["columns"]["N"] == "two-stage"
        # same network, same seed: REC, GMM and Interp. are the VAE's, marked in the table
        for kind in ("rec", "gmm", "interp"):
            assert entry["fid"][kind] == pytest.approx(saved["runs"]["vae"][seed]["fid"][kind])
    assert " †" in (out / "table1.md").read_text()


def test_a_run_of_another_protocol_is_reused_and_evaluated_again(repro):
    out, _ = repro
    config = out / "ae" / "seed1" / "config.yaml"
    config.write_text(config.read_text().replace("eval_images: valid", "eval_images: test"))
    weights = (out / "ae" / "seed1" / "model.safetensors").read_bytes()
    results = reproduce(
        "digits",
        "tiny",
        out,
        models=("ae",),
        seeds=(1,),
        n=100,
        overrides=FAST,
        train=False,
        figures=False,
    )
    assert results["runs"]["ae"]["1"]["protocol"]["eval_images"] == "valid"
    assert "eval_images: valid" in config.read_text()
    assert (out / "ae" / "seed1" / "model.safetensors").read_bytes() == weights


def test_only_trained_tabulates_finished_runs_and_reuses_their_evaluations(repro, capsys):
    out, _ = repro
    before = _hashes(out / "ae")
    assert (
        main(
            [
                "reproduce",
                "--dataset",
                "digits",
                "--preset",
                "tiny",
                "--out",
                str(out),
                "--models",
                "ae,vae",
                "--seeds",
                "0,1,2",
                "--n",
                "100",
                "--only-trained",
                "--set",
                "epochs=1",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert f"skipping {out / 'ae' / 'seed2'}: not trained (not started)" in printed
    assert "every run is trained and evaluated already" in printed
    assert not (out / "ae" / "seed2").exists() and _hashes(out / "ae") == before
    saved = json.loads((out / "results.json").read_text())
    assert saved["seeds"] == [0, 1, 2] and set(saved["runs"]["ae"]) == {"0", "1"}


def test_a_moved_reproduction_keeps_its_classifier_and_its_evaluations(
    repro, tmp_path, monkeypatch
):
    out, _ = repro
    fingerprint = pinned_fingerprint(out / "classifier")
    for model in ("ae", "vae"):
        scores = json.loads((out / model / "seed0" / "eval.json").read_text())
        assert scores["extractor_fingerprint"] == fingerprint
    # another machine: the folder copied, an empty cache; nothing is trained or evaluated again
    moved = tmp_path / "moved"
    shutil.copytree(out, moved)
    monkeypatch.setenv("RAEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(clf, "train_classifier", lambda *a, **k: pytest.fail("retrained"))
    again = dict(models=("ae",), seeds=(0,), n=100, overrides=FAST, train=False, figures=False)
    before = json.loads((out / "ae" / "seed0" / "eval.json").read_text())
    results = reproduce("digits", "tiny", moved, estimate=False, **again)
    assert results["runs"]["ae"]["0"]["fid"] == before["fid"]
    assert not (tmp_path / "cache" / "classifiers").exists()
    # the folder's classifier replaced: its scores are computed again, in the new feature space
    weights = moved / "classifier" / "model.safetensors"
    save_file({k: v * 1.05 for k, v in load_file(weights).items()}, weights)
    reproduce("digits", "tiny", moved, estimate=False, **again)
    after = json.loads((moved / "ae" / "seed0" / "eval.json").read_text())
    assert after["extractor_fingerprint"] == pinned_fingerprint(moved / "classifier") != fingerprint
    assert after["fid"]["rec"] != before["fid"]["rec"]


def test_a_folder_without_its_classifier_is_evaluated_again_and_pins_one(repro, tmp_path, capsys):
    out, _ = repro
    bare = tmp_path / "bare"
    shutil.copytree(out, bare)
    shutil.rmtree(bare / "classifier")  # e.g. scored before raekit pinned classifiers
    again = dict(models=("ae",), seeds=(0,), n=100, overrides=FAST, train=False, figures=False)
    reproduce("digits", "tiny", bare, estimate=False, **again)
    assert "evaluating" in capsys.readouterr().out
    scores = json.loads((bare / "ae" / "seed0" / "eval.json").read_text())
    assert scores["extractor_fingerprint"] == pinned_fingerprint(bare / "classifier") is not None


def test_a_single_seed_is_marked(repro):
    out, _ = repro
    results = reproduce(
        "digits",
        "tiny",
        out,
        models=("ae",),
        seeds=(1,),
        n=100,
        overrides=FAST,
        train=False,
        figures=False,
    )
    assert results["aggregate"]["ae"]["fid"]["rec"]["std"] is None
    assert "| ae | 1 (single seed) |" in (out / "table1.md").read_text()


def test_a_run_of_another_config_is_refused_with_the_difference(repro, capsys):
    out, _ = repro
    before = _hashes(out)
    code = main(
        [
            "reproduce",
            "--dataset",
            "digits",
            "--preset",
            "tiny",
            "--out",
            str(out),
            "--models",
            "ae",
            "--seeds",
            "0",
            "--n",
            "100",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "holds a different run" in err and "epochs 1 (asked 12)" in err
    with pytest.raises(RaekitError, match="dataset 'digits' \\(asked 'mnist'\\)"):
        plan("mnist", "tiny", out, ("ae",), (0,), FAST)
    assert _hashes(out) == before


def test_a_run_outside_the_seed_layout_is_refused(tmp_path):
    (tmp_path / "ae").mkdir()
    (tmp_path / "ae" / "config.yaml").write_text("model: ae\n")
    with pytest.raises(RaekitError, match="outside the seed layout"):
        plan("digits", "tiny", tmp_path, ("ae",), (0,))


def test_nothing_trained_is_an_error(tmp_path):
    with pytest.raises(RaekitError, match="nothing is trained"):
        reproduce("digits", "tiny", tmp_path, models=("ae",), train=False, estimate=False)


def test_estimate_counts_the_epochs_left(repro, tmp_path):
    from raekit.paper.estimate import estimate

    out, _ = repro
    done = estimate(
        plan("digits", "tiny", out, ("ae",), (0, 1), FAST), "classifier", 100, None, True
    )
    assert done is None  # everything trained and evaluated
    one = estimate(
        plan("digits", "tiny", tmp_path, ("ae",), (0,), FAST), "classifier", 100, None, True
    )
    three = estimate(
        plan("digits", "tiny", tmp_path, ("ae",), (0,), {"epochs": 3}),
        "classifier",
        100,
        None,
        True,
    )
    assert one["runs_to_train"] == 1 and one["train"] > 0 and one["evaluate"] > 0
    # three epochs are three times one epoch of the same measured cost (no timing compared)
    (plan_one,), (plan_three,) = one["runs"], three["runs"]
    assert (plan_one["epochs_left"], plan_three["epochs_left"]) == (1, 3)
    assert three["train"] == pytest.approx(3 * plan_three["seconds_per_epoch"])
    assert one["train"] == pytest.approx(plan_one["seconds_per_epoch"])


@pytest.mark.parametrize("seeds", ["0,0", "a", ""])
def test_bad_seeds(tmp_path, capsys, seeds):
    assert main(["reproduce", "--out", str(tmp_path), "--seeds", seeds]) == 2
    assert "--seeds" in capsys.readouterr().err


@pytest.mark.slow
def test_estimate_states_its_epochs_and_is_logged_beside_what_happened(tmp_path, capsys):
    from raekit.paper.estimate import estimate

    rule = {"epochs": 2, "stop_patience": 1}
    reproduce("digits", "tiny", tmp_path, models=("ae",), n=100, overrides=rule, figures=False)
    said = capsys.readouterr().out
    assert "every run to its maximum of 2 epochs" in said and "no run of this reproduction" in said
    (entry,) = json.loads((tmp_path / "estimates.json").read_text())
    run = str(tmp_path / "ae" / "seed0")
    planned, actual = entry["estimate"]["runs"][run], entry["actual"]["runs"][run]
    trained = len(runs.read_metrics(run))
    assert planned["epochs_left"] == 2 and actual["epochs_trained"] == trained
    assert actual["train_seconds"] > 0 and entry["estimate"]["train_seconds_at_max_epochs"] > 0
    # A second seed: the ended run's epochs are the expected figure.
    found = estimate(
        plan("digits", "tiny", tmp_path, ("ae",), (0, 1), rule), "classifier", 100, None, True
    )
    assert found["expected_epochs"] == trained and found["runs"][0]["epochs_expected"] == trained
    assert found["train_expected"] == pytest.approx(found["train"] * trained / 2)
    assert found["runs"][0]["basis"] == ("trained epochs" if trained > 1 else "timed steps")


def test_estimate_vs_actual_pairs_each_finished_run_with_its_own_estimate():
    from raekit.paper.estimate_log import estimate_vs_actual

    def plan(per_epoch, epochs):
        return {"seconds_per_epoch": per_epoch, "epochs_expected": epochs}

    entries = [
        {  # stopped before its run ended: nothing to compare
            "started_utc": "2026-01-01T00:00:00Z",
            "estimate": {"runs": {"/r/mnist/vae/seed0": plan(50.0, 100)}},
            "actual": {"runs": {}},
        },
        {
            "started_utc": "2026-01-02T00:00:00Z",
            "estimate": {
                "runs": {"/r/mnist/vae/seed0": plan(40.0, 60), "/r/x/ae/seed1": plan(1, 1)}
            },
            "actual": {
                "runs": {
                    "/r/mnist/vae/seed0": {"epochs_trained": 45, "train_seconds": 3000.0},
                    "/r/x/ae/seed1": {"epochs_trained": 0, "train_seconds": 0.5},  # reused
                }
            },
        },
    ]
    (row,) = estimate_vs_actual(entries)
    assert row["run"] == "vae/seed0" and row["started_utc"] == "2026-01-02T00:00:00Z"
    assert (row["epochs_estimated"], row["epochs_trained"]) == (60, 45)
    assert (row["seconds_estimated"], row["seconds_trained"]) == (2400, 3000)
    assert row["ratio"] == 1.25  # 3000 / (40 x 60)
