"""Figure 2 over several trained models per type: the combined row's means and spreads over the
trained models, the top 3 over all of them, the verdict on the least-trained one, and an export
that copies every trained model's files and regenerates the row from them."""

import json

import numpy as np
import pytest

from raekit import runs
from raekit.cli import main
from raekit.config import make_config, replace
from raekit.paper.figure2_claims import check_figure2_claims, learning
from raekit.paper.figure2_seeds import combine_rows, combined_learning, combined_top, run_name


def _bo(model: str, valid: float, score: float | None, top: list, seconds=10.0) -> dict:
    return {
        "model": model,
        "task": "expressions",
        "iterations": 2,
        "batch": 50,
        "seeds": 1,
        "gp": "exact",
        "invalid": "worst",
        "fraction_valid": valid,
        "fraction_valid_std": 0.0,
        "mean_score": score,
        "std_score": 0.0,
        "se_score": 0.0,
        "score_seeds": int(score is not None),
        "seeds_without_score": [] if score is not None else [0],
        "top": top,
        "best_so_far": [[top[0][1] + 0.1, top[0][1]]] if top else [[None, None]],
        "gp_history": [[{"rmse": 1.0, "loglik": -1.0}, {"rmse": 0.5, "loglik": -0.5}]],
        "novel_fraction": 0.5,
        "bo_seconds": seconds,
    }


def test_run_names_keep_the_single_seed_layout():
    assert [run_name("gvae", s) for s in range(3)] == ["gvae", "gvae-seed1", "gvae-seed2"]


def test_combined_row_means_and_spreads_over_trained_models():
    rows = [
        _bo("gvae", 0.9, 3.0, [["x", 0.4]]),
        _bo("gvae", 0.7, 4.0, [["x*1", 0.4], ["sin(x)", 0.9]]),
        _bo("gvae", 0.8, None, [["1+x", 0.6]]),
    ]
    row = combine_rows("expressions", ["gvae", "gvae-seed1", "gvae-seed2"], rows)
    assert row["training_seeds"] == 3 and row["runs"] == ["gvae", "gvae-seed1", "gvae-seed2"]
    assert row["fraction_valid"] == pytest.approx(0.8)
    assert row["fraction_valid_std"] == pytest.approx(0.1)  # sample std of 0.9, 0.7, 0.8
    assert row["fraction_valid_se"] == pytest.approx(np.std([0.9, 0.7, 0.8]) / np.sqrt(3))
    # the score: the two trained models with one, the third reported, not averaged in
    assert row["mean_score"] == pytest.approx(3.5)
    assert row["std_score"] == pytest.approx(np.std([3.0, 4.0], ddof=1))
    assert row["se_score"] == pytest.approx(0.5 / np.sqrt(2))
    assert row["score_seeds"] == 2 and row["seeds_without_score"] == [2]
    # x and x*1 are one function with one score: kept once, the best first
    assert row["top"] == [["x", 0.4], ["1+x", 0.6], ["sin(x)", 0.9]]
    assert len(row["best_so_far"]) == 3 and len(row["gp_history"]) == 3
    assert row["bo_seconds"] == 30.0 and row["seeds"] == 1


def test_one_training_seed_is_the_bo_row_itself():
    bo = _bo("cvae", 0.5, 4.0, [["x", 0.4]])
    row = combine_rows("expressions", ["cvae"], [bo])
    assert {k: row[k] for k in bo} == bo and row["training_seeds"] == 1


def test_molecule_top_is_highest_first():
    rows = [{"top": [["CCO", -3.0]]}, {"top": [["c1ccccc1", -1.0], ["OCC", -2.0]]}]
    assert combined_top("molecules", rows) == [["c1ccccc1", -1.0], ["OCC", -2.0]]


def _check(exact: float, bo_distance: float = 8.0) -> dict:
    return {
        "reconstruction": {"n": 500, "exact": exact, "fraction_valid": 1.0},
        "gaussian_samples": {"n": 500, "fraction_valid": 0.9},
        "distance": {"test_codes": 4.0, "bo_proposals": bo_distance},
        "data": {"mean_length": 15.0},
    }


def test_verdict_needs_every_trained_model_to_have_learned():
    seen = [learning(_check(0.5)), learning(_check(0.02)), learning(_check(0.4, 80.0))]
    worst = combined_learning(seen)
    assert worst["reconstruction_exact"] == 0.02
    assert worst["bo_distance"] == 80.0
    assert combined_learning([learning(_check(0.5)), None]) is None
    good = {m: _row_of(m, 0.9, 3.0) for m in ("cvae", "gvae", "grae")}
    for m in good:
        good[m]["learning"] = combined_learning([learning(_check(0.5))] * 3)
    assert {c["status"] for c in check_figure2_claims("expressions", good)} != {"not tested"}
    good["gvae"]["learning"] = worst
    claims = check_figure2_claims("expressions", good)
    assert {c["status"] for c in claims} == {"not tested"}
    assert "2.0%" in claims[0]["reason"] and "least of 3 trained models" in claims[0]["reason"]
    assert "20x" in claims[0]["reason"]


def _row_of(model: str, valid: float, score: float) -> dict:
    bo = [_bo(model, valid + d, score + d, [["x", 0.4]]) for d in (-0.01, 0.0, 0.01)]
    return combine_rows("expressions", [run_name(model, s) for s in range(3)], bo)


def test_spread_over_trained_models_decides_with_one_bo_seed_each():
    rows = {
        "cvae": _row_of("cvae", 0.5, 4.0),
        "gvae": _row_of("gvae", 0.9, 3.0),
        "grae": _row_of("grae", 0.9, 3.0),
    }
    claims = check_figure2_claims("expressions", rows)
    gvae_vs_cvae = claims[0]["comparisons"][1]
    assert gvae_vs_cvae["outcome"] == "holds"  # 0.9 vs 0.5 with a 0.01 spread, 3 models each


@pytest.fixture
def repro(tmp_path):
    """A reproduce-fig2 folder with two trained models per type."""
    folder = tmp_path / "runs" / "fig2-s"
    rows = {}
    for i, model in enumerate(("cvae", "gvae", "grae")):
        names = [run_name(model, s) for s in range(2)]
        bos = []
        for s, name in enumerate(names):
            run = folder / name
            run.mkdir(parents=True)
            config = make_config("expressions", model, "cpu", seed=s, epochs=6)
            runs.write_config(run, config)
            runs.write_metrics(run, [{"epoch": 1, "seconds": 60.0}])
            bos.append(_bo(model, 0.5 + 0.1 * i + 0.02 * s, 4.0 - i - 0.1 * s, [["x", 0.4]]))
            (run / "bo.json").write_text(json.dumps(bos[-1]))
            (run / "check.json").write_text(json.dumps(_check(0.2 + 0.1 * s)))
            (run / "model.safetensors").write_bytes(b"weights")
        rows[model] = combine_rows("expressions", names, bos)
    (folder / "fig2.json").write_text(json.dumps(rows))
    return folder, rows


def test_export_copies_every_trained_model_and_regenerates_the_row(tmp_path, repro):
    folder, rows = repro
    dest = tmp_path / "results" / "fig2-s"
    readme = tmp_path / "results.md"
    readme.write_text("# x\n\n## Results\n\n## Benchmarks\n")
    argv = ["export-results", str(folder), "--dest", str(dest), "--readme", str(readme)]
    assert main(argv) == 0
    files = {str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()}
    for name in ("gvae", "gvae-seed1", "cvae-seed1", "grae-seed1"):
        assert {f"{name}/bo.json", f"{name}/check.json", f"{name}/config.yaml"} <= files
        assert f"weights/{name}/model.safetensors" in files  # each trained model's weights
    assert not (dest / "gvae" / "model.safetensors").exists()
    exported = json.loads((dest / "fig2.json").read_text())
    assert exported["gvae"]["fraction_valid"] == pytest.approx(rows["gvae"]["fraction_valid"])
    assert exported["gvae"]["learning"]["reconstruction_exact"] == pytest.approx(0.2)
    text = readme.read_text()
    assert "--seeds 1 --train-seeds 2 --epochs 6" in text
    assert "2 trained models per type" in text and "(6 trained models)" in text
    assert "| gvae-seed1 |" in text  # each trained model's check has its row
    assert "1 of 2 trained models" not in text and "2 of 2 trained models" in text
    # exporting the committed folder onto itself gives the same rows
    assert main(["export-results", str(dest), "--dest", str(dest)]) == 0
    again = json.loads((dest / "fig2.json").read_text())
    assert again["grae"]["mean_score"] == pytest.approx(exported["grae"]["mean_score"])


@pytest.mark.parametrize(
    "bad, said",
    [
        (["--train-seeds", "0"], "--train-seeds"),
        (["--set", "seed=3"], "--train-seeds"),
        (["--set", "epochs=3"], "--epochs"),
        (["--set", "max_rows=many"], "max_rows"),
        (["--set", "no_such_key=1"], "no_such_key"),
        (["--models", "gvae,rae"], "rae"),
    ],
)
def test_reproduce_refuses_bad_settings_before_making_a_folder(tmp_path, capsys, bad, said):
    argv = ["reproduce-fig2", "--task", "expressions", "--out", str(tmp_path / "o")]
    assert main(argv + bad) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_export_names_the_settings_that_differ_from_the_preset(tmp_path, repro):
    folder, _ = repro
    for run in folder.iterdir():
        if run.is_dir():
            config = runs.read_config(run)
            runs.write_config(run, replace(config, max_rows=1234, lr_patience=3))
    readme = tmp_path / "results.md"
    readme.write_text("# x\n\n## Results\n\n## Benchmarks\n")
    dest = tmp_path / "results" / "fig2-s"
    assert main(["export-results", str(folder), "--dest", str(dest), "--readme", str(readme)]) == 0
    assert "--epochs 6 --set max_rows=1234 lr_patience=3" in readme.read_text()


@pytest.mark.slow
def test_reproduce_trains_each_model_per_seed_then_reuses_them(tmp_path, capsys):
    argv = ["reproduce-fig2", "--task", "expressions", "--preset", "tiny", "--out", str(tmp_path)]
    argv += ["--models", "gvae,grae", "--train-seeds", "2", "--epochs", "1", "--iterations", "1"]
    argv += ["--batch", "2", "--seeds", "1", "--draws", "2", "--max-codes", "100", "--gp", "exact"]
    argv += ["--encodings", "1", "--decodings", "2", "--prior-draws", "2", "--prior-decodings", "2"]
    argv += ["--set", "max_rows=400"]
    assert main(argv) == 0
    rows = json.loads((tmp_path / "fig2.json").read_text())
    for model in ("gvae", "grae"):
        assert rows[model]["runs"] == [model, f"{model}-seed1"]
        assert rows[model]["training_seeds"] == 2 and len(rows[model]["best_so_far"]) == 2
        for seed, name in enumerate(rows[model]["runs"]):
            config = runs.read_config(tmp_path / name)
            assert (config.seed, config.epochs, config.max_rows) == (seed, 1, 400)
            assert (tmp_path / name / "bo.json").is_file()
            assert (tmp_path / name / "check.json").is_file()
    text = (tmp_path / "fig2.md").read_text()
    assert "| grae-seed1 |" in text and "training seeds 2" in text
    capsys.readouterr()
    assert main(argv) == 0
    assert capsys.readouterr().out.count("reusing") == 4
    assert json.loads((tmp_path / "fig2.json").read_text()) == rows
