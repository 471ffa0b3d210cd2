"""experiments/converged_runs.sh and park_runs.sh: what is committed comes back on a new machine,
finished runs with their evaluations and classifier, unfinished ones at their latest checkpoint."""

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script(name, args, project, runs, cache, models="ae"):
    env = {
        **os.environ,
        "RUNS": str(runs),
        "RAEKIT_CACHE": str(cache),
        "PRESET": "tiny",
        "MODELS": models,
        "PYTHONPATH": str(ROOT / "src"),
    }
    return subprocess.run(
        ["bash", str(ROOT / "experiments" / name), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_a_new_machine_reuses_the_committed_runs_evaluations_and_classifier(tmp_path):
    project, runs = tmp_path / "project", tmp_path / "runs"
    project.mkdir()
    _script("converged_runs.sh", ["digits", "0", "epochs=2"], project, runs, tmp_path / "cache")
    dest = project / "results" / "digits-converged"
    for name in ("model.safetensors", "densities/gmm.safetensors"):
        assert (dest / "weights" / "ae" / "seed0" / name).is_file()
    assert (dest / "classifier" / "model.safetensors").is_file()
    scores = _sha(dest / "ae" / "seed0" / "eval.json")

    shutil.rmtree(runs)  # another machine: no runs, an empty cache
    fresh = tmp_path / "fresh-cache"
    printed = _script("converged_runs.sh", ["digits", "0", "epochs=2"], project, runs, fresh)
    assert "restored ae/seed0" in printed and "reusing" in printed
    assert "evaluating" not in printed and not (fresh / "classifiers").exists()
    assert _sha(dest / "ae" / "seed0" / "eval.json") == scores


def test_an_unfinished_run_is_parked_at_its_latest_checkpoint_and_comes_back(tmp_path):
    project, runs = tmp_path / "project", tmp_path / "runs" / "digits-converged"
    project.mkdir()
    for model, finished in (("vae", False), ("ae", True)):
        run = runs / model / "seed1"
        (run / "checkpoints").mkdir(parents=True)
        (run / "kept").mkdir()
        (run / "status.json").write_text(json.dumps({"finished": finished, "epochs": 3}))
        for name in ("config.yaml", "metrics.csv", "model.safetensors", "kept/epoch-0008.json"):
            (run / name).write_text(f"{model} {name}")
        for epoch in (1, 2):
            for suffix in (".json", ".safetensors"):
                (run / "checkpoints" / f"epoch-000{epoch}-step-000000{suffix}").write_text(
                    f"{model} {epoch}"
                )
    (runs / "rae" / "seed1").mkdir(parents=True)  # just started: no checkpoint yet
    printed = _script("park_runs.sh", ["digits"], project, runs.parent, tmp_path / "cache")
    assert printed.strip() == "parked vae/seed1 at epoch-0002-step-000000"
    parked = project / "results" / "digits-converged" / "unfinished"
    assert sorted(p.name for p in (parked / "vae" / "seed1" / "checkpoints").iterdir()) == [
        "epoch-0002-step-000000.json",
        "epoch-0002-step-000000.safetensors",
    ]
    assert not (parked / "ae").exists()

    shutil.rmtree(runs.parent)  # another machine: the parked run resumes from its checkpoint
    printed = _script("converged_runs.sh", ["digits", "1"], project, runs.parent, tmp_path, " ")
    assert "restored vae/seed1" in printed
    back = runs / "vae" / "seed1"
    assert (back / "checkpoints" / "epoch-0002-step-000000.safetensors").read_text() == "vae 2"
    assert (back / "kept" / "epoch-0008.json").read_text() == "vae kept/epoch-0008.json"
