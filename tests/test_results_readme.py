"""README's Results tables equal what the committed results.json gives (parsed from both sides)."""

import json
import re
from pathlib import Path

import pytest

from raekit.paper.export import export_results, parse_readme_tables, readme_block, update_readme
from raekit.paper.results import build, column, prd_column, read_results
from test_claims import make_runs

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"(-?\d+\.\d+)(?: ± (\d+\.\d+))?")


def _numbers(cell: str) -> list[tuple[float, float | None]]:
    return [(float(m), float(s) if s else None) for m, s in NUMBER.findall(cell)]


def _expected(stat) -> tuple[float, float | None]:
    return round(stat["mean"], 2), None if stat["std"] is None else round(stat["std"], 2)


def assert_readme_matches(results, tables):
    agg = results["aggregate"]
    assert (
        [row[0] for row in tables["Table 1"]] == list(agg) == [row[0] for row in tables["Table 2"]]
    )
    for row in tables["Table 1"]:
        summary = agg[row[0]]
        assert int(row[1].split()[0]) == len(summary["seeds"])
        for cell, name in zip(row[2:6], ("REC", "N", "GMM", "Interp")):
            stat = column(summary, name)
            assert _numbers(cell) == ([] if stat is None else [_expected(stat)]), (
                row[0],
                name,
                cell,
            )
    for row in tables["Table 2"]:
        for cell, name in zip(row[2:4], ("N", "GMM")):
            stats = [prd_column(agg[row[0]], name, m) for m in ("f8", "f1_8")]
            want = [] if stats[0] is None else [_expected(s) for s in stats]
            assert _numbers(cell) == want, (row[0], name, cell)


def test_readme_block_round_trips_through_the_parser(tmp_path):
    results = build(
        {
            "dataset": "mnist",
            "preset": "cpu",
            "features": "classifier",
            "extractor": "classifier-x",
            "n": 100,
            "n_reference": 100,
            "seeds": [0, 1, 2],
            "command": "raekit reproduce --out /x/y",
        },
        {**make_runs(), "ae": {"0": make_runs()["ae"]["0"]}},
    )  # ae: a single seed
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n## Results\n\nIntro.\n\n## Benchmarks\n\nb\n")
    update_readme(readme, "mnist-cpu", readme_block(results, "mnist-cpu"))
    update_readme(
        readme, "mnist-cpu", readme_block(results, "mnist-cpu")
    )  # replaced, not added twice
    text = readme.read_text()
    assert text.count("<!-- /results mnist-cpu -->") == 1 and text.index("Intro.") < text.index(
        "mnist-cpu"
    ) < text.index("## Benchmarks")
    assert "--out runs/mnist-cpu" in text and "paper GMM" in text and "holds" in text
    assert "| ae | 1 (single seed) | 16.00 |" in text
    assert_readme_matches(results, parse_readme_tables(text, "mnist-cpu"))
    wrong = text.replace(f"{results['aggregate']['rae']['fid']['gmm']['mean']:.2f} ±", "99.99 ±", 1)
    with pytest.raises(AssertionError):
        assert_readme_matches(results, parse_readme_tables(wrong, "mnist-cpu"))


def test_export_copies_no_weights(tmp_path):
    repro = tmp_path / "repro"
    run = repro / "ae" / "seed0"
    run.mkdir(parents=True)
    for name in ("config.yaml", "metrics.csv", "eval.json", "model.safetensors"):
        (run / name).write_text("{}" if name.endswith(".json") else name)
    runs = {"ae": {"0": {**make_runs()["ae"]["0"], "run": "ae/seed0"}}}
    (repro / "results.json").write_text(json.dumps(build({"dataset": "mnist", "seeds": [0]}, runs)))
    (repro / "table1.md").write_text("t1")
    dest = export_results(repro, tmp_path / "results" / "mnist-cpu")
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert files == [
        "ae/seed0/config.yaml",
        "ae/seed0/eval.json",
        "ae/seed0/metrics.csv",
        "results.json",
        "table1.md",
    ]
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "mine.txt").write_text("keep")
    with pytest.raises(Exception, match="not a raekit export"):
        export_results(repro, tmp_path / "other")


def _committed():
    folder = ROOT / "results"
    return sorted(folder.glob("*/results.json")) if folder.is_dir() else []


@pytest.mark.skipif(not (ROOT / "results").is_dir(), reason="no committed results/ yet")
def test_readme_results_equal_the_committed_results_json():
    readme = (ROOT / "README.md").read_text()
    assert _committed(), "results/ holds no results.json"
    for path in _committed():
        results = read_results(path)
        assert_readme_matches(results, parse_readme_tables(readme, path.parent.name))
