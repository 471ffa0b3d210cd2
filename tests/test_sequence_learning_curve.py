"""experiments/sequence_learning_curve.py: updates, cumulative training time and each epoch's
exact reconstruction come from metrics.csv, config.yaml and the per-epoch check reports."""

import csv
import importlib.util
import json
from pathlib import Path

from raekit import runs
from raekit.config import make_config

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "sequence_learning_curve.py"


def _load():
    spec = importlib.util.spec_from_file_location("sequence_learning_curve", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_curve_rows_follow_metrics_and_checks(tmp_path):
    run, checks = tmp_path / "run", tmp_path / "checks"
    run.mkdir()
    checks.mkdir()
    runs.write_config(run, make_config("molecules", "gvae", "cpu", batch_size=500))
    runs.write_metrics(
        run,
        [
            {"epoch": e, "seconds": 100.0 * e, "train_loss": 2.0 / e, "valid_rec": 1.5 / e}
            for e in (1, 2, 3)
        ],
    )
    for epoch, exact in ((1, 0.0), (3, 0.25)):
        rec = {"n": 500, "exact": exact, "fraction_valid": 0.5}
        if epoch == 3:  # epoch 1's report predates the per-step measures
            rec |= {"symbol_accuracy": 0.9, "correct_prefix": 0.6}
        report = {"data": {"n": 1001}, "reconstruction": rec}
        (checks / f"epoch{epoch}.json").write_text(json.dumps(report))
    out = tmp_path / "out"
    assert _load().main([str(run), str(checks), "--out", str(out)]) == 0
    with open(out / "learning_curve.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["epoch"] for r in rows] == ["1", "3"]  # epoch 2 has no check
    assert [int(r["updates"]) for r in rows] == [3, 9]  # ceil(1001 / 500) = 3 per epoch
    assert [float(r["train_seconds"]) for r in rows] == [100.0, 600.0]
    assert float(rows[1]["exact"]) == 0.25
    assert rows[0]["symbol_accuracy"] == "" and float(rows[1]["symbol_accuracy"]) == 0.9
    assert float(rows[1]["correct_prefix"]) == 0.6
    assert (out / "learning_curve.png").stat().st_size > 0
