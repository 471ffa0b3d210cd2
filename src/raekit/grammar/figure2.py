"""Figure 2 of the paper: BO results of CVAE, GVAE and GRAE as a table and an HTML report."""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from raekit.atomic import atomic_write_text
from raekit.config import make_config
from raekit.errors import RaekitError
from raekit.jsonio import write_json
from raekit.tables import Table

# The paper's Figure 2: (fraction valid, average score) per task and model.
PAPER_FIG2 = {"expressions": {"grae": (1.00, 3.22), "gvae": (0.99, 3.26), "cvae": (0.82, 4.74)},
              "molecules": {"grae": (0.72, -5.62), "gvae": (0.28, -7.89), "cvae": (0.16, -25.64)}}


def figure2_table(task: str, rows: dict[str, dict]) -> Table:
    header = ["model", "frac. valid", "avg. score", "top 3", "paper valid", "paper score"]
    body = []
    for model, r in rows.items():
        paper = PAPER_FIG2[task].get(model, (None, None))
        score = "–" if r["mean_score"] is None else f"{r['mean_score']:.2f} ± {r['std_score']:.2f}"
        top = "; ".join(f"{item} ({value:.2f})" for item, value in r["top"])
        body.append([model, f"{r['fraction_valid']:.2f}", score, top,
                     *("–" if v is None else f"{v:.2f}" for v in paper)])
    sense = "log(1 + MSE), lower is better" if task == "expressions" else "penalised logP, higher is better"
    return Table(f"Figure 2 ({task}): BO proposals; score = {sense}", header, body)


def _molecule_png(smiles: str) -> str:
    from rdkit import Chem
    from rdkit.Chem import Draw
    buffer = io.BytesIO()
    Draw.MolToImage(Chem.MolFromSmiles(smiles), size=(220, 180)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def write_fig2_report(out: Path, task: str, table: Table, rows: dict[str, dict]) -> Path:
    sections = ["<h1>raekit: Figure 2</h1>", table.html()]
    if task == "molecules":
        for model, r in rows.items():
            figures = "".join(f"<figure><img src='data:image/png;base64,{_molecule_png(item)}'>"
                              f"<figcaption>{html.escape(item)}<br>{value:.2f}</figcaption></figure>"
                              for item, value in r["top"])
            sections.append(f"<h2>{html.escape(model)}</h2>{figures}")
    style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
             "padding:3px 8px}figure{display:inline-block;margin:8px;text-align:center;font-size:12px}")
    path = out / "fig2.html"
    atomic_write_text(path, f"<!doctype html><html><head><meta charset='utf-8'><title>raekit Figure 2</title>"
                            f"<style>{style}</style></head><body>{''.join(sections)}</body></html>")
    return path


def _same_protocol(cached: dict, options: dict, task: str) -> bool:
    """A bo.json answers these options (defaults as run_bo's) when every protocol field agrees."""
    wanted = {"iterations": options.get("iterations", 5), "batch": options.get("batch", 50),
              "seeds": options.get("seeds", 5), "gp": options.get("gp", "sparse"),
              "invalid": options.get("invalid", "worst"),
              "standardisation": options.get("standardise", "zinc250k") if task == "molecules" else None}
    return all(cached.get(k) == v for k, v in wanted.items())


def _read_bo(path: Path) -> dict | None:
    """A run's earlier BO result (None when there is none)."""
    if not path.is_file():
        return None
    try:
        cached = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        cached = None
    if not isinstance(cached, dict):
        raise RaekitError(f"{path} is damaged (not a JSON object); delete it to run BO again")
    return cached


def reproduce_fig2(task: str, out: str | Path, preset: str = "cpu", models=("cvae", "gvae", "grae"),
                   data_root: str | None = None, **bo_options) -> Path:
    """Train (or reuse) each model, run BO over seeds, write fig2.md / fig2.json / fig2.html."""
    from raekit.grammar.optimise import check_bo_options, run_bo
    from raekit.reproduce import train_or_reuse
    check_bo_options(**bo_options)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = {}
    for model in models:
        overrides = {"data_root": data_root} if data_root else {}
        run_dir = train_or_reuse(make_config(task, model, preset, **overrides), out / model)
        previous = run_dir / "bo.json"
        cached = _read_bo(previous)
        same = cached and _same_protocol(cached, bo_options, task)
        rows[model] = cached if same else run_bo(run_dir, **bo_options)
    table = figure2_table(task, rows)
    atomic_write_text(out / "fig2.md", table.markdown())
    write_json(out / "fig2.json", rows)
    return write_fig2_report(out, task, table, rows)
