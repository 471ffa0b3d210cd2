"""Tracking read back with each tool's own reader, compared with metrics.csv."""

import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.helpers import tiny_digits

from raekit import runs
from raekit.config import make_config
from raekit.errors import RaekitError
from raekit.runs import Run
from raekit.training import tracking, tracking_backends, train
from raekit.training.tracking import track_eval

pytest.importorskip("tensorboard")
mlflow = pytest.importorskip("mlflow")


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch, mlflow_db):
    """No variables set: MLflow's own default store in the working folder (./mlflow.db)."""
    shutil.copy(mlflow_db, tmp_path / "mlflow.db")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return mlflow.get_tracking_uri()


def _config(**kw):
    return make_config("digits", "rae-l2", "tiny", **{"epochs": 2, "batch_size": 50, **kw})


def _tensorboard_scalars(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(
        str(run_dir / tracking_backends.TB_DIR / run_dir.name),
        size_guidance={"scalars": 0, "images": 0, "tensors": 0},
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
    local = client.download_artifacts(run_id, "metrics.csv", str(tmp_path / "download"))
    assert Path(local).read_text() == (run_dir / runs.METRICS_FILE).read_text()
    # MLflow's own client, in the same folder and with no variables, finds the run.
    assert mlflow_store.startswith("sqlite:") == (int(mlflow.__version__.split(".")[0]) >= 3)
    found = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert [(r.info.run_name, r.info.run_id) for r in found] == [("run", run_id)]
    assert found[0].data.metrics["valid/loss"] == pytest.approx(rows[-1]["valid_loss"])
    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ


def test_tensorboard_names_the_run_and_holds_its_config(tmp_path, one_thread):
    import yaml
    from tensorboard.plugins.hparams import plugin_data_pb2

    config = _config(epochs=1)
    run_dir = train(config, tmp_path / "my-run", data=tiny_digits(), track="tensorboard")
    # `tensorboard --logdir RUN/tb` lists the run by its folder name, not as ".".
    assert [p.name for p in (run_dir / tracking_backends.TB_DIR).iterdir()] == ["my-run"]
    _, acc = _tensorboard_scalars(run_dir)
    text = acc.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert yaml.safe_load("\n".join(line[4:] for line in text.splitlines())) == yaml.safe_load(
        (run_dir / runs.CONFIG_FILE).read_text()
    )
    content = acc.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/session_start_info"]
    ).session_start_info
    assert start.hparams["model"].string_value == "rae-l2"
    assert start.hparams["beta"].number_value == pytest.approx(config.beta)
    assert start.hparams["epochs"].number_value == 1
    experiment = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/experiment"]
    ).experiment
    metrics = {m.name.tag for m in experiment.metric_infos}
    assert set(tracking_backends.HPARAM_METRICS) == metrics


def test_evaluation_is_added_to_the_same_run(tmp_path, mlflow_store, one_thread):
    from raekit.paper.run_scores import evaluate_run

    data = tiny_digits()
    run_dir = train(_config(epochs=1), tmp_path / "run", data=data, track="mlflow,tensorboard")
    result = evaluate_run(Run.of(run_dir, data), features="classifier", n=40)
    track_eval("tensorboard,mlflow", run_dir, result)
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
    with pytest.raises(RaekitError, match="unknown tracker 'neptune'"):
        tracking.parse_backends("tensorboard,neptune")


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


def _wandb_records(run_dir):
    """Every record of the run's offline W&B log (a LevelDB-style log of protobuf records in 32 KiB
    blocks after a 7-byte header), read without W&B's own code."""
    from wandb.proto import wandb_internal_pb2

    records = []
    for path in sorted(run_dir.glob("wandb/offline-run-*/run-*.wandb")):
        data, pos, parts = path.read_bytes(), 7, b""
        while pos + 7 <= len(data):
            room = 32768 - pos % 32768
            if room < 7:
                pos += room
                continue
            length, kind = int.from_bytes(data[pos + 4 : pos + 6], "little"), data[pos + 6]
            parts += data[pos + 7 : pos + 7 + length]
            pos += 7 + length
            if kind in (1, 4):  # a whole record, or the last piece of one
                records.append(wandb_internal_pb2.Record.FromString(parts))
                parts = b""
    return records


def test_wandb_logs_offline_into_the_run(tmp_path, monkeypatch, one_thread):
    pytest.importorskip("wandb")
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_API_KEY", "")  # nothing may reach a server
    data = tiny_digits()
    run_dir = train(_config(epochs=2), tmp_path / "run", data=data, track="wandb")
    state = json.loads((run_dir / tracking_backends.STATE_FILE).read_text())
    records = _wandb_records(run_dir)
    kinds = [r.WhichOneof("record_type") for r in records]
    assert "run" in kinds and "history" in kinds, kinds
    run = next(r.run for r in records if r.WhichOneof("record_type") == "run")
    assert (run.run_id, run.display_name, run.project) == (state["wandb_run_id"], "run", "raekit")
    config = {}
    for r in records:
        if r.WhichOneof("record_type") in ("run", "config"):
            update = (
                r.run.config.update if r.WhichOneof("record_type") == "run" else r.config.update
            )
            config.update({i.key: json.loads(i.value_json) for i in update})
    assert config["model"] == "rae-l2" and config["beta"] == pytest.approx(_config().beta)
    history = [
        {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in r.history.item}
        for r in records
        if r.WhichOneof("record_type") == "history"
    ]
    rows = runs.read_metrics(run_dir)
    logged = {h["epoch"]: h for h in history if "valid/loss" in h}
    assert sorted(logged) == [1, 2]
    for row in rows:
        assert logged[int(row["epoch"])]["valid/loss"] == pytest.approx(row["valid_loss"])
        assert logged[int(row["epoch"])]["images/input_recon_prior_gaussian/_type"] == "image-file"
    # Evaluation continues the same W&B run (same id), logging at the last epoch.
    from raekit.paper.run_scores import evaluate_run

    result = evaluate_run(Run.of(run_dir, data), features="classifier", n=40)
    track_eval("wandb", run_dir, result)
    assert json.loads((run_dir / tracking_backends.STATE_FILE).read_text()) == state
    evals = [h for h in _wandb_history(run_dir) if "eval/fid_rec" in h]
    assert evals and evals[-1]["eval/fid_rec"] == pytest.approx(result["fid"]["rec"])
    assert evals[-1]["epoch"] == 2


def _wandb_history(run_dir):
    return [
        {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in r.history.item}
        for r in _wandb_records(run_dir)
        if r.WhichOneof("record_type") == "history"
    ]
