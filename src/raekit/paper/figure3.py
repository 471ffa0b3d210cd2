"""Appendix A, Figure 3: the VAE's reconstruction / regularisation trade-off.

Left: test reconstruction FID during training for several numbers k of posterior samples.
Right: reconstruction FID and random-sample FID of a VAE across a sweep of KL weights.
Runs are ordinary run directories (resumed epoch by epoch for the left panel), so an
interrupted study picks up where it stopped.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np

from raekit import runs
from raekit.config import make_config, replace
from raekit.data import load_images
from raekit.errors import RaekitError
from raekit.generation import decode_codes, reconstruct
from raekit.io.atomic import atomic_write_text
from raekit.io.jsonio import read_json_object, write_json
from raekit.metrics import frechet_distance, get_extractor
from raekit.paper.htmlpage import Section, embed_png, page
from raekit.paper.tables import Table
from raekit.plots import pyplot
from raekit.runs import Run
from raekit.training import train

CURVE_FILE = "fig3_curve.json"
DEFAULT_KS = (1, 2, 5)
DEFAULT_WEIGHTS = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)


def _fids(run: Run, extractor, n: int, samples: bool) -> dict[str, float]:
    model = run.model
    test = run.data.test[:n]
    reference = extractor(test)
    out = {"rec": frechet_distance(extractor(reconstruct(model, test)), reference)}
    if samples:
        codes = np.random.default_rng(0).standard_normal((len(test), model.latent_dim))
        out["sample"] = frechet_distance(extractor(decode_codes(model, codes)), reference)
    return out


def _train_to(config, run_dir: Path, epochs: int, data):
    """Train `run_dir` up to `epochs` (a run that already has them is left as it is)."""
    if (run_dir / runs.CONFIG_FILE).exists():
        saved = runs.read_config(run_dir)
        if _trained(run_dir) > epochs:  # never used as a shorter run than it is
            raise RaekitError(
                f"{run_dir} holds {_trained(run_dir)} trained epochs, more than the {epochs} asked; "
                f"use another --out"
            )
        if _trained(run_dir) >= epochs and runs.is_finished(run_dir):
            return run_dir
        return train(
            replace(saved, epochs=max(epochs, saved.epochs)), run_dir, resume=True, data=data
        )
    return train(replace(config, epochs=epochs), run_dir, data=data)


def _trained(run_dir: Path) -> int:
    rows = runs.read_metrics(run_dir)
    return int(rows[-1]["epoch"]) if rows else 0


def _curve(config, run_dir: Path, epochs: int, data, fid) -> list[float]:
    """Test reconstruction FID after each epoch, kept in RUN/fig3_curve.json as it grows, so a
    re-run reuses the epochs measured before (their weights are gone once training moves on)."""
    path = run_dir / CURVE_FILE
    curve = (read_json_object(path) or {}).get("rec_fid")
    if not isinstance(curve, list) or not all(isinstance(v, float) for v in curve):
        curve = []
    for epoch in range(len(curve) + 1, epochs + 1):
        if _trained(run_dir) > epoch:
            raise RaekitError(
                f"{run_dir} is trained past epoch {epoch} but {path.name} lacks that epoch's FID; "
                f"move {run_dir} away to measure its curve again"
            )
        _train_to(config, run_dir, epoch, data)
        curve.append(fid(run_dir))
        write_json(path, {"rec_fid": curve})
    return curve[:epochs]


def check_fig3_arguments(ks, weights, n: int, epochs: int | None) -> None:
    """Refuse what cannot be done before any training starts."""
    if any(int(k) < 1 for k in ks):
        raise RaekitError(f"every k must be at least 1, got {list(ks)}")
    if any(not (0 < w < math.inf) for w in weights):
        raise RaekitError(f"--kl-weights must be positive and finite, got {list(weights)}")
    if n < 2:
        raise RaekitError(f"--n must be at least 2, got {n}")
    if epochs is not None and epochs < 1:
        raise RaekitError(f"--epochs must be at least 1, got {epochs}")


def reproduce_fig3(
    dataset: str,
    preset: str,
    out: str | Path,
    ks=DEFAULT_KS,
    weights=DEFAULT_WEIGHTS,
    features: str = "classifier",
    n: int = 2000,
    epochs: int | None = None,
) -> Path:
    """Run both panels; write fig3.json, fig3.md and fig3.png; returns the PNG path."""

    check_fig3_arguments(ks, weights, n, epochs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    base = make_config(dataset, "vae", preset)
    epochs = base.epochs if epochs is None else epochs
    data = load_images(dataset, base.data_root)
    extractor = get_extractor(features, dataset=dataset, data=data)
    curves = {}
    for k in ks:
        curves[int(k)] = _curve(
            replace(base, mc_samples=int(k)),
            out / f"k{k}",
            epochs,
            data,
            lambda run_dir: _fids(Run.of(run_dir, data), extractor, n, samples=False)["rec"],
        )
    sweep = {}
    for weight in weights:
        run_dir = out / f"kl{weight:g}"
        _train_to(replace(base, beta=float(weight)), run_dir, epochs, data)
        sweep[float(weight)] = _fids(Run.of(run_dir, data), extractor, n, samples=True)
    result = {
        "dataset": dataset,
        "preset": preset,
        "extractor": extractor.name,
        "n": n,
        "k_curves": curves,
        "kl_sweep": sweep,
    }
    write_json(out / "fig3.json", result)
    table = Table(
        f"Figure 3 (right): VAE FID against KL weight ({extractor.name} features, n={n})",
        ["KL weight", "reconstruction FID", "sample FID"],
        [[f"{w:g}", f"{v['rec']:.2f}", f"{v['sample']:.2f}"] for w, v in sweep.items()],
    )
    atomic_write_text(out / "fig3.md", table.markdown())
    path = _plot(out / "fig3.png", curves, sweep)
    write_fig3_report(out, result, table)
    return path


def write_fig3_report(out: Path, result: dict, table: Table) -> Path:
    """fig3.html: contents, the figure, the KL-weight table and the per-epoch FIDs of each k."""

    features = f"{result['extractor']} features, {result['n']} test images"
    table.goals, table.key = [None, "min", "min"], "kl"
    table.note = (
        f"FID (lower is better; bold: the best of each column) of the test images' reconstructions and "
        f"of decoded N(0, I) samples against the test images, {features}, for VAEs trained with each KL "
        "weight. The paper's point: a small weight gives good reconstructions and bad samples, a large one "
        "the reverse."
    )
    curves = result["k_curves"]
    epochs = max((len(c) for c in curves.values()), default=0)
    per_epoch = Table(
        "Test reconstruction FID per epoch",
        ["epoch", *(f"k = {k}" for k in curves)],
        [
            [str(e + 1), *(f"{c[e]:.2f}" if e < len(c) else "–" for c in curves.values())]
            for e in range(epochs)
        ],
        [None] + ["min"] * len(curves),
        f"FID (lower is better; bold: the best of each column) of test reconstructions after each "
        f"epoch, for VAEs whose reconstruction term averages k posterior samples; {features}.",
        "k",
    )
    sections = [
        Section(
            "figure",
            "Figure 3",
            embed_png(out / "fig3.png", "Figure 3", "plot")
            + "<p class='note'>Left: reconstruction FID per epoch for k posterior samples. Right: "
            "reconstruction and sample FID against the KL weight.</p>",
        ),
        Section("kl", table.title, table.html(heading=False)),
        Section("k", per_epoch.title, per_epoch.html(heading=False)),
    ]
    path = out / "fig3.html"
    atomic_write_text(
        path,
        page(
            f"raekit: Figure 3 (Appendix A), {result['dataset']}",
            sections,
            html.escape(f"VAEs on {result['dataset']} ({result['preset']} preset)."),
        ),
    )
    return path


def _plot(path: Path, curves, sweep) -> Path:
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2))
    for k, curve in curves.items():
        left.plot(range(1, len(curve) + 1), curve, marker="o", markersize=3, label=f"k = {k}")
    left.set(xlabel="epoch", ylabel="test reconstruction FID", title="k posterior samples")
    left.legend()
    w = list(sweep)
    right.plot(w, [sweep[x]["rec"] for x in w], marker="o", label="reconstruction")
    right.plot(w, [sweep[x]["sample"] for x in w], marker="s", label="samples N(0, I)")
    right.set(xscale="log", xlabel="KL weight", ylabel="FID", title="KL weight sweep")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
