"""Every kind of report opened in headless Chromium: images decode, no console error, the tables
hold the numbers of the results file, and the contents link to sections that exist."""

import importlib.util
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from tests.helpers import tiny_digits

CHROMIUM = os.environ.get("RAEKIT_CHROMIUM") or next(
    (
        p
        for p in map(shutil.which, ("chromium-headless-shell", "chromium", "chromium-browser"))
        if p
    ),
    None,
)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
    )
    if CHROMIUM is None:
        pytest.skip(
            "no Chromium binary (apt-get install chromium-headless-shell, or set RAEKIT_CHROMIUM)"
        )
    with sync_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield instance
        instance.close()


def open_page(browser, path, width=1400):
    """Load a report; return its console errors, image widths, table cells by table id, and links."""
    page = browser.new_page(viewport={"width": width, "height": 1000})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.resolve().as_uri(), wait_until="load")
    info = page.evaluate("""() => ({
        widths: Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0),
        tables: Object.fromEntries(Array.from(document.querySelectorAll('table[id]')).map(t =>
            [t.id, Array.from(t.querySelectorAll('tbody tr')).map(r => Array.from(r.cells).map(c => c.innerText))])),
        bold: Object.fromEntries(Array.from(document.querySelectorAll('table[id]')).map(t =>
            [t.id, t.querySelectorAll('b').length])),
        boldHeads: Object.fromEntries(Array.from(document.querySelectorAll('table[id]')).map(t =>
            [t.id, Array.from(t.querySelectorAll('tbody b')).map(b =>
                t.querySelectorAll('thead th')[b.closest('td').cellIndex].innerText)])),
        links: Array.from(document.querySelectorAll('nav a')).map(a => a.getAttribute('href')),
        ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
        text: document.body.innerText,
        detailRows: Object.fromEntries(Array.from(document.querySelectorAll('table.detail')).map(t =>
            [t.id.slice(7), Array.from(t.querySelectorAll('tr')).map(r =>
                [r.cells[0].innerText, r.cells[1].innerText])])),
        html: document.documentElement.outerHTML,
        overflow: document.documentElement.scrollWidth - window.innerWidth})""")
    page.close()
    return errors, info


def check_page(info, errors, min_images, folder=None):
    assert errors == []
    assert len(info["widths"]) >= min_images and all(w > 0 for w in info["widths"])
    assert info["links"] and all(link[1:] in info["ids"] for link in info["links"])
    # Counts agree with their nouns; no path of the machine that made the page.
    assert not re.search(r"\b1 (comparisons|models|runs|seeds|claims)\b", info["text"])
    if folder is not None:
        for where in {str(folder), str(folder.resolve()), str(Path.home())}:
            assert where not in info["html"], where


def check_narrow(browser, path):
    """At 800 px the page does not overflow sideways (wide tables scroll inside themselves)."""
    errors, info = open_page(browser, path, width=800)
    assert errors == [] and info["overflow"] <= 0, info["overflow"]


@pytest.fixture(scope="module")
def reproduction(tmp_path_factory):
    """A small reproduction of two models, tracked with MLflow when it is installed."""
    import torch

    from raekit.paper.reproduce import reproduce

    out = tmp_path_factory.mktemp("repro")
    track = "mlflow" if importlib.util.find_spec("mlflow") else None
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        # MLflow's default store (and its artifacts) in the folder it runs in, as for a user.
        patch.chdir(out)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        try:
            reproduce(
                "digits",
                "tiny",
                out,
                models=("ae", "vae"),
                n=60,
                data=tiny_digits(),
                track=track,
                estimate=False,
            )
        finally:
            torch.set_num_threads(threads)
    return out, track


def test_reproduce_groups_its_runs_in_one_experiment(reproduction):
    out, track = reproduction
    if track is None:
        pytest.skip('mlflow is not installed (pip install "raekit[track]")')
    import mlflow

    from raekit.paper.reproduce import experiment_name

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(out)
        client = mlflow.MlflowClient(mlflow.get_tracking_uri())
    experiment = client.get_experiment_by_name(experiment_name(out))
    found = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.run_name for r in found) == ["ae/seed0", "vae/seed0"]
    results = json.loads((out / "results.json").read_text())
    for run in found:
        result = results["runs"][run.info.run_name.split("/")[0]]["0"]
        history = client.get_metric_history(run.info.run_id, "eval/fid_rec")
        assert history[-1].value == pytest.approx(result["fid"]["rec"])
        figures = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
        assert "figures/reconstructions.png" in figures and "figures/prd.png" in figures


def test_reproduction_report(browser, reproduction):
    tmp_path, _ = reproduction
    results = json.loads((tmp_path / "results.json").read_text())
    errors, info = open_page(browser, tmp_path / "report.html")
    # Per model: 4 grid cells + 7 detail figures; 2 comparison plots.
    check_page(info, errors, 2 * 11 + 2, tmp_path)
    check_narrow(browser, tmp_path / "report.html")
    # Log-likelihoods of different latent spaces: never a "best" across models.
    assert info["boldHeads"]["densities-table"]
    assert not [h for h in info["boldHeads"]["densities-table"] if "log-lik" in h]
    table1 = {row[0]: row[2:] for row in info["tables"]["table1-table"]}  # model, seeds, numbers
    table2 = {row[0]: row[2:] for row in info["tables"]["table2-table"]}
    assert set(table1) == set(table2) == set(results["aggregate"]) == {"ae", "vae"}
    for model, r in results["runs"].items():  # one seed: the cells are that run's numbers
        fid, cols = r["0"]["fid"], r["0"]["columns"]
        expected = [fid["rec"], fid[cols["N"]], fid[cols["GMM"]], fid["interp"]]
        assert table1[model][:4] == [f"{v:.2f}" for v in expected]
        prd = [r["0"]["prd"][cols[c]] for c in ("N", "GMM")]
        assert table2[model][:2] == [f"{p['f8']:.2f} / {p['f1_8']:.2f}" for p in prd]
    # The best value of every numeric column is bold: 4 FID columns, 2 x 2 PRD values.
    assert info["bold"]["table1-table"] >= 4 and info["bold"]["table2-table"] >= 4
    grid = {row[0]: row for row in info["tables"]["fig4-grid"]}
    assert set(grid) == set(results["aggregate"])
    assert "claims" in info["ids"] and "#claims" in info["links"]


def test_fig4_cells_are_large_and_enlarge_on_a_click(browser, reproduction):
    out, _ = reproduction
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto((out / "report.html").resolve().as_uri(), wait_until="load")
    cell = page.locator("#fig4-grid img").first
    before = cell.bounding_box()["width"]
    assert before >= 250  # 190 px before: 17 px a digit
    cell.click()
    assert cell.bounding_box()["width"] >= 900  # min(96vw, 96vh) of a 1400 x 1000 window
    page.mouse.click(5, 5)  # anywhere else: back in its cell
    assert cell.bounding_box()["width"] == pytest.approx(before)
    page.close()


def test_fig3_page(browser, tmp_path):
    from raekit.paper.figure3 import _plot, write_fig3_report
    from raekit.paper.tables import Table

    result = {
        "dataset": "digits",
        "preset": "tiny",
        "extractor": "classifier-abc",
        "n": 100,
        "k_curves": {1: [80.5, 60.25, 55.0], 2: [78.0, 59.5, 54.75]},
        "kl_sweep": {0.1: {"rec": 20.5, "sample": 90.0}, 1.0: {"rec": 35.25, "sample": 60.5}},
    }
    (tmp_path / "fig3.json").write_text(json.dumps(result))
    _plot(tmp_path / "fig3.png", result["k_curves"], result["kl_sweep"])
    table = Table(
        "Figure 3 (right)",
        ["KL weight", "reconstruction FID", "sample FID"],
        [
            [f"{w:g}", f"{v['rec']:.2f}", f"{v['sample']:.2f}"]
            for w, v in result["kl_sweep"].items()
        ],
    )
    write_fig3_report(tmp_path, result, table)
    errors, info = open_page(browser, tmp_path / "fig3.html")
    check_page(info, errors, 1, tmp_path)
    check_narrow(browser, tmp_path / "fig3.html")
    saved = json.loads((tmp_path / "fig3.json").read_text())
    assert info["tables"]["kl-table"] == [
        [f"{float(w):g}", f"{v['rec']:.2f}", f"{v['sample']:.2f}"]
        for w, v in saved["kl_sweep"].items()
    ]
    assert info["tables"]["k-table"][2] == ["3", "55.00", "54.75"]
    assert info["bold"]["kl-table"] == 2 and info["bold"]["k-table"] == 2


def test_fig2_page(browser, tmp_path):
    pytest.importorskip("rdkit")
    from raekit.paper.figure2 import figure2_table, write_fig2_report

    rows = {
        "grae": {
            "runs": 2,
            "fraction_valid": 0.75,
            "mean_score": -4.5,
            "std_score": 0.5,
            "gp_noise": 0.9992000000000001,
            "note": None,
            "run": str(tmp_path / "grae" / "seed0"),
            "top": [["CCO", -1.25], ["c1ccccc1", -2.0], ["CC(=O)O", -3.5]],
        },
        "cvae": {
            "runs": 2,
            "fraction_valid": 0.25,
            "mean_score": -9.0,
            "std_score": 1.0,
            "top": [["CCN", -2.5], ["CCCC", -4.0]],
        },
    }
    (tmp_path / "fig2.json").write_text(json.dumps(rows))
    write_fig2_report(tmp_path, "molecules", figure2_table("molecules", rows), rows)
    errors, info = open_page(browser, tmp_path / "fig2.html")
    check_page(info, errors, 5, tmp_path)  # one drawing per top molecule
    check_narrow(browser, tmp_path / "fig2.html")
    # Each model's detail: a table of rounded numbers, no Python reprs.
    detail = dict(tuple(row) for row in json.loads(json.dumps(info["detailRows"]["grae"])))
    assert detail["fraction_valid"] == "0.75" and detail["std_score"] == "0.5"
    assert detail["gp_noise"] == "0.9992" and detail["note"] == "–"
    assert detail["run"] == os.path.join("grae", "seed0")
    saved = json.loads((tmp_path / "fig2.json").read_text())
    table = {row[0]: row for row in info["tables"]["fig2-table"]}
    for model, r in saved.items():
        assert table[model][1] == f"{r['fraction_valid']:.2f}"
        assert table[model][2] == f"{r['mean_score']:.2f} ± {r['std_score']:.2f}"
    assert info["bold"]["fig2-table"] >= 2  # frac. valid and score of grae
    best = {row[0]: row[1:] for row in info["tables"]["fig2-best"]}
    assert "CCO" in best["grae"][0] and np.isclose(float(best["grae"][0].split("score ")[1]), -1.25)
