"""Figure 2 of the paper: BO results of CVAE, GVAE and GRAE as a table and an HTML report."""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

from raekit.atomic import atomic_write_text
from raekit.bo.acquisition import ACQUISITION
from raekit.bo.check import check_run
from raekit.bo.optimise import average_rule, check_bo_options, run_bo
from raekit.config import make_config
from raekit.errors import RaekitError
from raekit.jsonio import write_json
from raekit.paper import reuse
from raekit.paper.claims import claims_html, claims_markdown
from raekit.paper.figure2_claims import check_figure2_claims
from raekit.paper.htmlpage import Section, embed_png, page
from raekit.paper.tables import Table
from raekit.training import train

# The paper's Figure 2: (fraction valid, average score) per task and model.
PAPER_FIG2 = {
    "expressions": {"grae": (1.00, 3.22), "gvae": (0.99, 3.26), "cvae": (0.82, 4.74)},
    "molecules": {"grae": (0.72, -5.62), "gvae": (0.28, -7.89), "cvae": (0.16, -25.64)},
}


def figure2_table(task: str, rows: dict[str, dict]) -> Table:
    header = ["model", "frac. valid", "avg. score", "top 3", "paper valid", "paper score"]
    body = []
    for model, r in rows.items():
        paper = PAPER_FIG2[task].get(model, (None, None))
        score = "–" if r["mean_score"] is None else f"{r['mean_score']:.2f} ± {r['std_score']:.2f}"
        top = "; ".join(f"{item} ({value:.2f})" for item, value in r["top"])
        body.append(
            [
                model,
                f"{r['fraction_valid']:.2f}",
                score,
                top,
                *("–" if v is None else f"{v:.2f}" for v in paper),
            ]
        )
    sense = (
        "log(1 + MSE), lower is better"
        if task == "expressions"
        else "penalised logP, higher is better"
    )
    return Table(f"Figure 2 ({task}): BO proposals; score = {sense}", header, body)


def check_table(checks: dict[str, dict]) -> Table:
    """`raekit grammar-check`'s reports of several models side by side."""

    def share(x: float | None) -> str:
        return "–" if x is None else f"{x:.3f}"

    header = [
        "model",
        "greedy rec. exact",
        "greedy rec. valid",
        "Gaussian samples valid",
        "distance: test codes / BO",
        "length: data / BO",
    ]
    rows = []
    for model, c in checks.items():
        dist, bo = c["distance"], c.get("bo_proposals", {})
        bo_length = bo.get("mean_length")
        rows.append(
            [
                model,
                share(c["reconstruction"]["exact"]),
                share(c["reconstruction"]["fraction_valid"]),
                share(c["gaussian_samples"]["fraction_valid"]),
                f"{dist['test_codes']:.1f} / {_short(dist.get('bo_proposals'))}",
                f"{c['data']['mean_length']:.1f} / {_short(bo_length)}",
            ]
        )
    note = (
        f"`raekit grammar-check` on {next(iter(checks.values()))['reconstruction']['n']} test "
        "strings: greedy decoding of their codes (exact: the string comes back); decodings of as "
        "many draws from a Gaussian fitted to the training codes; median Mahalanobis distance from "
        "the training codes; mean length in characters of the data and of the valid BO proposals."
    )
    return Table("What the models learned, and where BO went", header, rows, note=note)


def _short(x: float | None) -> str:
    return "–" if x is None else f"{x:.3g}" if x >= 1e4 else f"{x:.1f}"


def _molecule_png(smiles: str) -> bytes:
    from rdkit import Chem
    from rdkit.Chem import Draw

    buffer = io.BytesIO()
    Draw.MolToImage(Chem.MolFromSmiles(smiles), size=(220, 180)).save(buffer, format="PNG")
    return buffer.getvalue()


def _best_cell(task: str, item: str, value: float) -> str:
    text = f"<br><code>{html.escape(item)}</code><br>score {value:.2f}"
    return (embed_png(_molecule_png(item), item) if task == "molecules" else "") + text


def write_fig2_report(
    out: Path, task: str, table: Table, rows: dict[str, dict], checked: Table | None = None
) -> Path:
    """fig2.html: contents, the Figure 2 table (best in bold), the claims, what the models learned
    (`checked`), the best proposals of every model side by side (molecule drawings for
    molecules), then each model's BO settings."""
    lower = task == "expressions"
    table.goals = [None, "max", "min" if lower else "max", None, "max", "min" if lower else "max"]
    table.key = "fig2"
    first = next(iter(rows.values()), {})
    protocol = ", ".join(
        f"{k} {first[k]}" for k in ("seeds", "iterations", "batch", "gp") if k in first
    )
    table.note = (
        f"Latent-space Bayesian optimisation{f' ({protocol})' if protocol else ''}: frac. valid is the "
        f"fraction of proposals that decode to a valid {'expression' if lower else 'molecule'}; avg. score "
        "the mean over seeds of each run's average score, GrammarVAE's way: scores as bad as the worst "
        f"one ({'over all runs' if lower else 'of that run'}, which invalid proposals get) left out "
        "(± std over seeds); score = "
        f"{'log(1 + MSE) against the target, lower is better' if lower else 'penalised logP, higher is better'}; "
        "bold: the best of each column. Paper: Ghosh et al. (ICLR 2020), Figure 2."
    )
    width = max((len(r["top"]) for r in rows.values()), default=0)
    head = "<tr><th>model</th>" + "".join(f"<th>top {i + 1}</th>" for i in range(width)) + "</tr>"
    grid = "".join(
        f"<tr><th>{html.escape(model)}</th>"
        + "".join(f"<td>{_best_cell(task, item, value)}</td>" for item, value in r["top"])
        + "</tr>"
        for model, r in rows.items()
    )
    claims = claims_html(check_figure2_claims(task, rows), heading=False)
    sections = [
        Section("fig2", table.title, table.html(heading=False)),
        Section("claims", "The paper's claims at this scale", claims),
    ]
    if checked is not None:
        sections.append(Section("check", checked.title, checked.html(heading=False)))
    sections += [
        Section(
            "best",
            "Best proposals side by side",
            f"<table class='grid' id='fig2-best'><thead>{head}</thead><tbody>{grid}</tbody></table>"
            "<p class='note'>The best distinct valid proposals over all seeds, one row per model.</p>",
        ),
        Section("models", "Per-model detail", ""),
    ]
    sections += [
        Section(
            f"model-{model}",
            model,
            "<ul>"
            + "".join(
                f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>"
                for k, v in r.items()
                if not isinstance(v, (list, dict))
            )
            + "</ul>",
            3,
        )
        for model, r in rows.items()
    ]
    path = out / "fig2.html"
    atomic_write_text(
        path,
        page(
            f"raekit: Figure 2 ({task})",
            sections,
            html.escape(f"{len(rows)} models, Bayesian optimisation in their latent spaces."),
        ),
    )
    return path


def _train_or_reuse(config, run_dir: Path) -> Path:
    """A finished run with this config is reused, an unfinished one resumed, else one is trained."""

    exists = reuse.check_reusable(run_dir, config) is not None
    if exists and reuse.is_finished(run_dir, config):
        print(f"reusing {run_dir}", flush=True)
        return run_dir
    return train(config, run_dir, resume=exists)


def _same_protocol(cached: dict, options: dict, task: str) -> bool:
    """A bo.json answers these options (defaults as run_bo's) when every protocol field agrees."""
    wanted = {
        "iterations": options.get("iterations", 5),
        "batch": options.get("batch", 50),
        "seeds": options.get("seeds", 5),
        "gp": options.get("gp", "sparse"),
        "invalid": options.get("invalid", "worst"),
        "average": average_rule(task),
        "acquisition": ACQUISITION,
        "standardisation": options.get("standardise", "zinc250k") if task == "molecules" else None,
    }
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


def reproduce_fig2(
    task: str,
    out: str | Path,
    preset: str = "cpu",
    models=("cvae", "gvae", "grae"),
    data_root: str | None = None,
    **bo_options,
) -> Path:
    """Train (or reuse) each model, run BO over seeds, write fig2.md / fig2.json / fig2.html."""
    check_bo_options(**bo_options)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows, checks = {}, {}
    for model in models:
        overrides = {"data_root": data_root} if data_root else {}
        run_dir = _train_or_reuse(make_config(task, model, preset, **overrides), out / model)
        previous = run_dir / "bo.json"
        cached = _read_bo(previous)
        same = cached and _same_protocol(cached, bo_options, task)
        rows[model] = cached if same else run_bo(run_dir, **bo_options)
        checks[model] = check_run(run_dir, reuse=True)
    table = figure2_table(task, rows)
    claims = claims_markdown(check_figure2_claims(task, rows))
    checked = check_table(checks)
    atomic_write_text(
        out / "fig2.md", f"{table.markdown()}\n{claims}\n{checked.markdown()}\n{checked.note}\n"
    )
    write_json(out / "fig2.json", rows)
    return write_fig2_report(out, task, table, rows, checked)
