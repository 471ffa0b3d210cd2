"""Tracking read back with each tool's own reader, compared with metrics.csv."""

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.helpers import tiny_digits

from raekit import runs
from raekit.config import make_config
from raekit.errors import RaekitError
from raekit.training import tracking, tracking_backends, train

pytest.importorskip("tensorboard")
mlflow = pytest.importorskip("mlflow")


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch):
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    return uri


def _config(**kw):
    return make_config("digits", "rae-l2", "tiny", **{"epochs": 2, "batch_size": 50, **kw})


def _tensorboard_scalars(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(
        str(run_dir / tracking_backends.TB_DIR), size_guidance={"scalars": 0, "images": 0}
    )
    acc.Reload()
    scalars = {tag: {e.step: e.value for e in acc.Scalars(tag)} for tag in acc.Tags()["scalars"]}
    return scalars, acc


def test_both_trackers_hold_metrics_csv(tmp_path, mlflow_store, one_thread):
    before = os.umask(0o022)
    try:
        run_dir = train(_config(), tmp_path / "run", data=tiny_digits(), track="tensorboard,mlflow")
    finally:
        os.umask(before)
    # Every file of the run has the umask's mode (0644), none mkstemp's 0600.
    modes = {
        p.relative_to(run_dir): stat.S_IMODE(p.stat().st_mode)
        for p in run_dir.rglob("*")
        if p.is_file()
    }
    assert len(modes) >= 6 and set(modes.values()) == {0o644}, modes
    rows = runs.read_metrics(run_dir)
    assert len(rows) == 2
    columns = [k for k in rows[0] if k != "epoch"]
    assert {"train_loss", "valid_loss", "train_rec", "valid_rec", "lr", "seconds"} <= set(columns)

    scalars, acc = _tensorboard_scalars(run_dir)
    client = mlflow.MlflowClient(mlflow_store)
    run_id = json.loads((run_dir / tracking_backends.STATE_FILE).read_text())["mlflow_run_id"]
    for column in columns:
        name = tracking.metric_name(column)
        history = {m.step: m.value for m in client.get_metric_history(run_id, name)}
        for row in rows:
            epoch = int(row["epoch"])
            assert scalars[name][epoch] == pytest.approx(
                row[column], rel=1e-6, abs=1e-9
            )  # TB stores float32
            assert history[epoch] == pytest.approx(row[column], rel=1e-12)
    # One image grid per epoch: 4 rows (inputs, reconstructions, N(0, I), fitted Gaussian) of 8.
    images = acc.Images("images/input_recon_prior_gaussian")
    assert (
        [e.step for e in images] == [1, 2]
        and images[0].height == 4 * 34 + 2
        and images[0].width == 8 * 34 + 2
    )

    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["model"] == "rae-l2" and float(run.data.params["beta"]) == _config().beta
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"config.yaml", "metrics.csv", "epochs"} <= artifacts
    local = client.download_artifacts(run_id, "metrics.csv", str(tmp_path))
    assert Path(local).read_text() == (run_dir / runs.METRICS_FILE).read_text()


def test_evaluation_is_added_to_the_same_run(tmp_path, mlflow_store, one_thread):
    from raekit.paper.run_scores import evaluate_run

    data = tiny_digits()
    run_dir = train(_config(epochs=1), tmp_path / "run", data=data, track="mlflow,tensorboard")
    result = evaluate_run(
        run_dir, features="classifier", n=40, data=data, track="tensorboard,mlflow"
    )
    client = mlflow.MlflowClient(mlflow_store)
    run_id = json.loads((run_dir / tracking_backends.STATE_FILE).read_text())["mlflow_run_id"]
    assert len(client.search_runs([client.get_run(run_id).info.experiment_id])) == 1
    scalars, _ = _tensorboard_scalars(run_dir)
    for kind, value in result["fid"].items():
        assert client.get_metric_history(run_id, f"eval/fid_{kind}")[-1].value == pytest.approx(
            value
        )
        assert scalars[f"eval/fid_{kind}"][1] == pytest.approx(value, rel=1e-6)
    for kind, curve in result["prd"].items():
        assert client.get_metric_history(run_id, f"eval/prd_f8_{kind}")[-1].value == pytest.approx(
            curve["f8"]
        )
        assert scalars[f"eval/prd_f1_8_{kind}"][1] == pytest.approx(curve["f1_8"], rel=1e-6)
    assert "eval.json" in {a.path for a in client.list_artifacts(run_id)}


def test_a_failing_tracker_warns_once_and_training_goes_on(
    tmp_path, monkeypatch, capsys, one_thread
):
    calls = []

    def broken(self, *args):
        calls.append(1)
        raise OSError("disk full")

    monkeypatch.setattr(tracking.TensorBoardBackend, "log_epoch", broken)
    run_dir = train(_config(epochs=2), tmp_path / "run", data=tiny_digits(), track="tensorboard")
    err = capsys.readouterr().err
    assert len(calls) == 1 and err.count("tensorboard tracking stopped (OSError: disk full)") == 1
    assert len(runs.read_metrics(run_dir)) == 2 and (run_dir / runs.WEIGHTS_FILE).exists()


def test_only_rank_0_tracks_and_bad_names_are_refused(tmp_path):
    assert tracking.open_tracker("tensorboard", tmp_path, is_main=False).backends == []
    assert not (tmp_path / tracking_backends.TB_DIR).exists()
    with pytest.raises(RaekitError, match="unknown tracker 'wandb'"):
        tracking.parse_backends("tensorboard,wandb")


def test_epoch_grid_leaves_rng_and_mode_untouched(one_thread):
    from raekit.models.build import build_from_config

    model = build_from_config(_config()).train()
    images = tiny_digits().valid[:20]
    state = torch.get_rng_state()
    grid = tracking.epoch_grid(model, images)
    assert torch.equal(state, torch.get_rng_state()) and model.training
    assert grid.dtype == np.uint8 and grid.shape == (4 * 34 + 2, 8 * 34 + 2, 3)
    # The first row holds the inputs themselves.
    assert np.array_equal(grid[2:34, 2:34, 0], images[0, 0])


def test_metric_names():
    assert tracking.metric_name("train_dec_l2") == "train/dec_l2"
    assert tracking.metric_name("valid_loss") == "valid/loss"
    assert (
        tracking.metric_name("seconds") == "seconds_per_epoch"
        and tracking.metric_name("lr") == "lr"
    )
    result = {"fid": {"rec": 3.0, "gmm": 5.0}, "prd": {"gmm": {"f8": 0.5, "f1_8": 0.25}}}
    assert tracking.eval_metrics(result) == {
        "eval/fid_rec": 3.0,
        "eval/fid_gmm": 5.0,
        "eval/prd_f8_gmm": 0.5,
        "eval/prd_f1_8_gmm": 0.25,
    }
