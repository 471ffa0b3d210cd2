"""Committing a Figure 2: `raekit export-results` on a reproduce-fig2 folder copies each model's
results and its weights (a complete run folder under weights/), and README's block shows exactly
what fig2.json says (also for the committed results)."""

import json
from pathlib import Path

import pytest

from raekit import runs
from raekit.cli import main
from raekit.config import make_config
from raekit.paper.claims import claims_markdown
from raekit.paper.export_fig2 import read_fig2
from raekit.paper.figure2 import figure2_table
from raekit.paper.figure2_claims import check_figure2_claims

ROOT = Path(__file__).resolve().parents[1]


def _row(model: str, valid: float, score: float, seconds: float | None) -> dict:
    return {
        "model": model,
        "task": "expressions",
        "iterations": 5,
        "batch": 50,
        "seeds": 3,
        "gp": "exact",
        "invalid": "worst",
        "fraction_valid": valid,
        "fraction_valid_std": 0.01,
        "mean_score": score,
        "std_score": 0.1,
        "top": [["x+1", 0.5]],
        "bo_seconds": seconds,
    }


@pytest.fixture
def repro(tmp_path):
    """A reproduce-fig2 folder: three trained models (weights included) and fig2.json."""
    folder = tmp_path / "runs" / "fig2-x"
    rows = {
        "cvae": _row("cvae", 0.5, 4.0, 60.0),
        "gvae": _row("gvae", 0.9, 3.0, 120.0),
        "grae": _row("grae", 0.95, 2.9, 180.0),
    }
    for i, model in enumerate(rows):
        run = folder / model
        run.mkdir(parents=True)
        runs.write_config(run, make_config("expressions", model, "cpu"))
        runs.write_metrics(
            run, [{"epoch": 1, "seconds": 600.0 * (i + 1)}, {"epoch": 2, "seconds": 60.0}]
        )
        (run / "bo.json").write_text(json.dumps(rows[model]))
        (run / "model.safetensors").write_bytes(b"weights")
    (folder / "grae" / "check.json").write_text("{}")  # `raekit grammar-check` ran on GRAE only
    (folder / "fig2.json").write_text(json.dumps(rows))
    (folder / "fig2.md").write_text("table")
    (folder / "fig2.html").write_text("<html></html>")
    return folder, rows


def test_export_copies_results_and_weights_and_writes_readme_from_fig2_json(
    tmp_path, repro, capsys
):
    folder, rows = repro
    dest = tmp_path / "results" / "fig2-x"
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n## Results\n\nIntro.\n\n## Benchmarks\n\nb\n")
    for _ in range(2):  # the block is replaced, not added twice
        assert (
            main(["export-results", str(folder), "--dest", str(dest), "--readme", str(readme)]) == 0
        )
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert files == sorted(
        ["fig2.html", "fig2.json", "fig2.md", "grae/check.json"]
        + [f"{m}/{f}" for m in rows for f in ("bo.json", "config.yaml", "metrics.csv")]
        + [
            f"weights/{m}/{f}"
            for m in rows
            for f in ("model.safetensors", "config.yaml", "metrics.csv")
        ]
    )
    assert (dest / "weights" / "gvae" / "model.safetensors").read_bytes() == b"weights"
    text = readme.read_text()
    assert text.count("<!-- /results fig2-x -->") == 1
    assert text.index("Intro.") < text.index("fig2-x") < text.index("## Benchmarks")
    assert figure2_table("expressions", rows).markdown() in text
    assert claims_markdown(check_figure2_claims("expressions", rows)) in text
    # training: (600 + 60) + (1200 + 60) + (1800 + 60) s = 63 min; BO: 360 s = 6 min
    assert "training 1 h 03 min (3 trained models), BO 6 min" in text
    assert (
        "raekit reproduce-fig2 --task expressions --preset cpu --out runs/fig2-x --gp exact "
        "--iterations 5 --batch 50 --seeds 3" in text
    )


def test_export_of_an_export_keeps_its_weights(tmp_path, repro, capsys):
    folder, _ = repro
    dest = tmp_path / "results" / "fig2-x"
    assert main(["export-results", str(folder), "--dest", str(dest)]) == 0
    capsys.readouterr()
    assert main(["export-results", str(dest), "--dest", str(dest)]) == 0  # bring reports up to date
    assert "weights are not exported" not in capsys.readouterr().err
    assert (dest / "weights" / "grae" / "model.safetensors").read_bytes() == b"weights"
    again = tmp_path / "results" / "fig2-y"  # an export copied on, weights with it
    assert main(["export-results", str(dest), "--dest", str(again)]) == 0
    assert (again / "weights" / "cvae" / "model.safetensors").read_bytes() == b"weights"
    assert not (again / "cvae" / "model.safetensors").exists()


def _check(exact: float, distance: float) -> dict:
    return {
        "data": {"n": 90, "mean_length": 15.7},
        "reconstruction": {"n": 500, "exact": exact, "fraction_valid": 1.0, "mean_length": 12.0},
        "gaussian_samples": {"n": 500, "fraction_valid": 0.5, "mean_length": 11.0},
        "distance": {"test_codes": 4.71, "bo_proposals": distance},
        "bo_proposals": {"n": 1250, "fraction_valid": 0.9, "mean_length": None},
    }


def test_readme_block_shows_the_model_checks_when_every_model_has_one(tmp_path, repro):
    folder, rows = repro
    for model, (exact, distance) in zip(rows, [(0.008, 17.66), (0.478, 832524.9), (0.1, 12.8)]):
        (folder / model / "check.json").write_text(json.dumps(_check(exact, distance)))
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n## Results\n\n## Benchmarks\n")
    assert (
        main(
            ["export-results", str(folder), "--dest", str(tmp_path / "r"), "--readme", str(readme)]
        )
        == 0
    )
    text = readme.read_text()
    assert "| gvae | 0.478 | 1.000 | 0.500 | 4.7 / 8.33e+05 | 15.7 / – |" in text
    assert "| cvae | 0.008 | 1.000 | 0.500 | 4.7 / 17.7 | 15.7 / – |" in text
    assert text.index("What the models learned") < text.index("<!-- /results r -->")


def test_export_refuses_a_foreign_destination(tmp_path, repro, capsys):
    folder, _ = repro
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    assert main(["export-results", str(folder), "--dest", str(tmp_path / "mine")]) == 2
    assert "not a raekit export" in capsys.readouterr().err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def _committed():
    return sorted((ROOT / "results").glob("fig2-*/fig2.json"))


def test_results_page_shows_the_committed_figure2_results():
    readme = (ROOT / "docs" / "results.md").read_text()
    shown = 0
    for path in _committed():
        name = path.parent.name
        if f"<!-- results {name}:" not in readme:
            continue  # a smoke-scale folder that the page only mentions
        shown += 1
        rows = read_fig2(path.parent)
        task = next(iter(rows.values()))["task"]
        block = readme.split(f"<!-- results {name}:")[1].split(f"<!-- /results {name} -->")[0]
        assert figure2_table(task, rows).markdown() in block
        assert claims_markdown(check_figure2_claims(task, rows)) in block
    assert shown >= 1 or not _committed(), "the Results page shows no committed Figure 2"
