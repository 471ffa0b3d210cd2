"""The Results page's tables, and README's headline table, equal what the committed results.json
gives (parsed from both sides)."""

import json
import re
from pathlib import Path

import pytest

from raekit.errors import RaekitError
from raekit.paper.export import export_results, readme_block, update_readme
from raekit.paper.results_file import build, column, prd_column, read_results
from test_claims import make_runs

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"(-?\d+\.\d+)(?: ± (\d+\.\d+))?")


def parse_readme_tables(readme_text: str, name: str) -> dict[str, list[list[str]]]:
    """{"Table 1": rows, "Table 2": rows} of `name`'s block on a results page (cells as text)."""
    match = re.search(
        rf"<!-- results {re.escape(name)}: (.*?)<!-- /results {re.escape(name)} -->",
        readme_text,
        re.S,
    )
    if not match:
        raise RaekitError(f"the page has no results block for {name}")
    tables, current = {}, None
    for line in match.group(1).splitlines():
        if line.startswith("Table 1") or line.startswith("Table 2"):
            current = tables.setdefault(line[:7], [])
        elif (
            line.startswith("|")
            and current is not None
            and not line.startswith("| model")
            and not line.startswith("| ---")
            and not line.startswith("| claim")
        ):
            current.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif not line.strip().startswith("|") and line.strip() and current is not None and current:
            current = None
    return tables


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


META = {
    "dataset": "mnist",
    "preset": "cpu",
    "features": "classifier",
    "extractor": "classifier-x",
    "n": 100,
    "n_reference": 100,
    "seeds": [0, 1, 2],
    "command": "raekit reproduce --out /x/y",
}


def test_readme_block_round_trips_through_the_parser(tmp_path):
    results = build(META, {**make_runs(), "ae": {"0": make_runs()["ae"]["0"]}})  # ae: a single seed
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
    assert "| ae | 1 (single seed) | 14.00 |" in text
    assert "Spearman rho" in text and "ratios compare" not in text
    assert_readme_matches(results, parse_readme_tables(text, "mnist-cpu"))
    wrong = text.replace(f"{results['aggregate']['rae']['fid']['gmm']['mean']:.2f} ±", "99.99 ±", 1)
    with pytest.raises(AssertionError):
        assert_readme_matches(results, parse_readme_tables(wrong, "mnist-cpu"))


def test_export_keeps_weights_and_writes_results_afresh(tmp_path, capsys):
    repro = tmp_path / "repro"
    for model in ("ae", "vae"):
        run = repro / model / "seed0"
        run.mkdir(parents=True)
        for name in ("config.yaml", "metrics.csv", "eval.json", "status.json"):
            (run / name).write_text("{}" if name.endswith(".json") else name)
    (repro / "ae" / "seed0" / "eval.json").write_text(json.dumps({"run": "/machine/runs/ae/seed0"}))
    for name in ("model.safetensors", "model.json", "densities/gmm.json", "kept/epoch-0008.json"):
        (repro / "ae" / "seed0" / name).parent.mkdir(exist_ok=True)
        (repro / "ae" / "seed0" / name).write_text("{}" if name.endswith(".json") else name)
    (repro / "classifier").mkdir()
    (repro / "classifier" / "classifier.json").write_text("{}")
    (repro / "classifier" / "model.safetensors").write_text("w")
    runs = {m: {"0": {**make_runs()[m]["0"], "run": f"{m}/seed0"}} for m in ("ae", "vae")}
    (repro / "results.json").write_text(
        json.dumps({**build({**META, "seeds": [0]}, runs), "claims": ["stale"]})
    )
    (repro / "table1.md").write_text("t1")
    dest = export_results(repro, tmp_path / "results" / "mnist-cpu")
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert files == [
        "ae/seed0/config.yaml",
        "ae/seed0/eval.json",
        "ae/seed0/metrics.csv",
        "classifier/classifier.json",
        "classifier/model.safetensors",
        "results.json",
        "table1.md",
        "table2.md",
        "vae/seed0/config.yaml",
        "vae/seed0/eval.json",
        "vae/seed0/metrics.csv",
        "weights/ae/seed0/config.yaml",
        "weights/ae/seed0/densities/gmm.json",
        "weights/ae/seed0/kept/epoch-0008.json",
        "weights/ae/seed0/metrics.csv",
        "weights/ae/seed0/model.json",
        "weights/ae/seed0/model.safetensors",
        "weights/ae/seed0/status.json",
    ]
    assert "1 of 2 runs have no model.safetensors" in capsys.readouterr().err
    assert json.loads((dest / "ae" / "seed0" / "eval.json").read_text()) == {"run": "ae/seed0"}
    written = json.loads((dest / "results.json").read_text())
    assert written["claims"][0]["quote"] and (dest / "table1.md").read_text().startswith("Table 1")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "mine.txt").write_text("keep")
    with pytest.raises(Exception, match="not a raekit export"):
        export_results(repro, tmp_path / "other")


def test_captions_come_from_the_recorded_protocol():
    runs = make_runs()
    for by_seed in runs.values():
        for entry in by_seed.values():
            entry["protocol"] = {"eval_images": "valid", "rec_sampled": False}
    results = build(META, runs)
    block = readme_block(results, "x")
    assert "REC and Interp. from validation images" in block and "test images (" not in block
    runs["vae"]["0"]["protocol"] = {"eval_images": "test"}
    block = readme_block(build(META, runs), "x")
    assert "from test and validation images (runs differ)" in block
    assert "paired comparison" in block


def _committed():
    folder = ROOT / "results"
    return sorted(folder.glob("*/results.json")) if folder.is_dir() else []


@pytest.mark.skipif(not (ROOT / "results").is_dir(), reason="no committed results/ yet")
def test_results_page_equals_the_committed_results_json():
    readme = (ROOT / "docs" / "results.md").read_text()
    assert _committed(), "results/ holds no results.json"
    for path in _committed():
        results = read_results(path)
        assert_readme_matches(results, parse_readme_tables(readme, path.parent.name))


def test_readme_and_docs_show_the_papers_own_claim_checks():
    from raekit.paper.export import paper_claims_block

    block = paper_claims_block()
    assert "**does not hold** (vae: GMM F_8 vs N F_8)" in block  # MNIST's VAE F_8: 0.96 -> 0.95
    assert block in (ROOT / "docs" / "evaluation.md").read_text()


HEADLINE = re.compile(r"<!-- headline (\S+): .*?-->\n(.*?)<!-- /headline \1 -->", re.S)


def test_readme_headline_table_equals_the_committed_results_json():
    """README's one results table: Table 1's seed means and spreads of a committed reproduction."""
    found = HEADLINE.findall((ROOT / "README.md").read_text())
    assert len(found) == 1, "README has one headline table"
    name, table = found[0]
    summary = read_results(ROOT / "results" / name / "results.json")["aggregate"]
    rows = [line.strip("|").split("|") for line in table.splitlines()[2:]]
    assert [row[0].strip() for row in rows] == list(summary)
    for model, *cells in rows:
        for cell, column_name in zip(cells, ("REC", "N", "GMM", "Interp"), strict=True):
            stat = column(summary[model.strip()], column_name)
            assert _numbers(cell) == ([] if stat is None else [_expected(stat)]), (model, cell)


def test_a_results_page_headed_results_gets_new_blocks_at_its_end(tmp_path):
    results = build(META, make_runs())
    page = tmp_path / "results.md"
    page.write_text("# Results\n\nIntro.\n\n## Tables\n\nOld text.\n")
    update_readme(page, "mnist-cpu", readme_block(results, "mnist-cpu"))
    text = page.read_text()
    assert text.index("Old text.") < text.index("<!-- results mnist-cpu:")
    assert text.rstrip().endswith("<!-- /results mnist-cpu -->")
    assert_readme_matches(results, parse_readme_tables(text, "mnist-cpu"))


def test_a_comment_in_a_code_block_does_not_end_the_results_section(tmp_path):
    results = build(META, make_runs())
    page = tmp_path / "results.md"
    fence = "```bash\n# 1. train\nraekit train\n```\n"
    page.write_text(f"# Results\n\n## Plan\n\n{fence}\nAfter the code.\n\n# Other\n\nx\n")
    update_readme(page, "mnist-cpu", readme_block(results, "mnist-cpu"))
    text = page.read_text()
    assert fence in text  # the block went after the code block, not into it
    assert text.index("After the code.") < text.index("<!-- results mnist-cpu:")
    assert text.index("<!-- /results mnist-cpu -->") < text.index("# Other")


def test_committed_reports_name_no_folder_of_the_machine_that_made_them():
    results = ROOT / "results"
    pages = [*results.rglob("*.html"), *results.rglob("*.md"), *results.rglob("eval.json")]
    assert pages
    for page in pages:
        found = re.search(r"(?<![\w.])/(work|home|tmp|root|Users)/[\w.-]+", page.read_text())
        assert found is None, f"{page}: {found.group(0)}"
