"""Figure 2's tables: the BO results beside the paper's, what the models learned
(`raekit grammar-check`), GrammarVAE's measures, the GP's quality and BO's progress."""

from __future__ import annotations

import io

from raekit.grammar.sequence_task import sequence_task
from raekit.paper.figure2_claims import MIN_VALID
from raekit.paper.tables import Table

# The paper's Figure 2: (fraction valid, average score) per task and model.
PAPER_FIG2 = {
    "expressions": {"grae": (1.00, 3.22), "gvae": (0.99, 3.26), "cvae": (0.82, 4.74)},
    "molecules": {"grae": (0.72, -5.62), "gvae": (0.28, -7.89), "cvae": (0.16, -25.64)},
}
NOT_RECORDED = "not recorded"


def _score_cell(r: dict) -> str:
    """Average score ± GrammarVAE's spread (std / sqrt(seeds)) with the std; "–" below 1% valid
    proposals; rows from before the spread was recorded show ± the std over seeds."""
    if r.get("mean_score") is None or r["fraction_valid"] < MIN_VALID:
        return "–"
    if r.get("se_score") is None:
        return f"{r['mean_score']:.2f} ± {r['std_score']:.2f}"
    return f"{r['mean_score']:.2f} ± {r['se_score']:.2f} (std {r['std_score']:.2f})"


def _seeds_cell(r: dict) -> str:
    if r.get("score_seeds") is None:
        return NOT_RECORDED
    missing = r.get("seeds_without_score") or []
    trained = r.get("training_seeds", 1)
    text = f"{r['score_seeds']} of {trained if trained > 1 else r['seeds']}"
    text += " trained models" if trained > 1 else ""
    which = "training seed" if trained > 1 else "seed"
    return text + (f" (none from {which} {', '.join(map(str, missing))})" if missing else "")


def distinct_top(task: str, top: list) -> list:
    """A top list with repeats of one item removed (one canonical molecule, one function) and
    equal scores dropped, as GrammarVAE's top 3: for rows written before BO did so itself."""
    key, seen, out = sequence_task(task).same, set(), []
    for item, value in top:
        mark = (key(item), round(value, 12))
        if mark[0] in seen or mark[1] in seen:
            continue
        seen.update(mark)
        out.append([item, value])
    return out


def figure2_table(task: str, rows: dict[str, dict]) -> Table:
    header = [
        "model",
        "frac. valid",
        "avg. score",
        "seeds averaged",
        "top 3",
        "paper valid",
        "paper score",
    ]
    body = []
    for model, r in rows.items():
        paper = PAPER_FIG2[task].get(model, (None, None))
        top = "; ".join(f"{item} ({value:.2f})" for item, value in distinct_top(task, r["top"]))
        body.append(
            [
                model,
                f"{r['fraction_valid']:.2f}",
                _score_cell(r),
                _seeds_cell(r),
                top,
                *("–" if v is None else f"{v:.2f}" for v in paper),
            ]
        )
    sense = sequence_task(task).score_sense
    return Table(f"Figure 2 ({task}): BO proposals; score = {sense}", header, body)


def score_note(rows: dict[str, dict]) -> str:
    """What the ± and the top 3 are, for the rows at hand."""
    new = all(r.get("se_score") is not None for r in rows.values())
    trained = min((r.get("training_seeds", 1) for r in rows.values()), default=1)
    if trained > 1:
        return (
            f"each model type was trained {trained} times (training seeds 0-{trained - 1}); "
            "frac. valid and avg. score are the means over the trained models of each one's "
            "BO result, ± is GrammarVAE's spread taken over the trained models: the std "
            "(ddof 0) / sqrt(models), with the sample std beside it, so it covers training as "
            'well as BO; avg. score is over valid proposals only, "–" below 1% valid; seeds '
            "averaged: the trained models with a valid proposal to average; top 3: the best "
            "proposal of each BO run over all trained models, distinct items (canonical "
            "SMILES, equal function values) and scores."
        )
    spread = (
        "± is GrammarVAE's: the std over seeds (ddof 0) / sqrt(seeds), with the sample std "
        "beside it (GrammarVAE's script divides by sqrt(5), its 5 iterations, over 10 runs; the "
        "paper does not say which it shows)"
        if new
        else "± is the sample std over seeds (recorded before raekit kept GrammarVAE's spread)"
    )
    return (
        f'{spread}; avg. score is over valid proposals only, "–" below 1% valid; seeds '
        "averaged: the BO seeds with a valid proposal to average; top 3: distinct items "
        "(canonical SMILES, equal function values) and scores."
    )


def _short(x: float | None) -> str:
    return "–" if x is None else f"{x:.3g}" if x >= 1e4 else f"{x:.1f}"


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
        rows.append(
            [
                model,
                share(c["reconstruction"]["exact"]),
                share(c["reconstruction"]["fraction_valid"]),
                share(c["gaussian_samples"]["fraction_valid"]),
                f"{dist['test_codes']:.1f} / {_short(dist.get('bo_proposals'))}",
                f"{c['data']['mean_length']:.1f} / {_short(bo.get('mean_length'))}",
            ]
        )
    note = (
        f"`raekit grammar-check` on {next(iter(checks.values()))['reconstruction']['n']} test "
        "strings: greedy decoding of their codes (exact: the string comes back); decodings of as "
        "many draws from a Gaussian fitted to the training codes; median Mahalanobis distance from "
        "the training codes; mean length in characters of the data and of the valid BO proposals."
    )
    return Table("What the models learned, and where BO went", header, rows, note=note)


def _mean_over_seeds(curves: list[list[float | None]], step: int) -> float | None:
    values = [c[step] for c in curves if step < len(c) and c[step] is not None]
    return sum(values) / len(values) if values else None


def _iterations(rows: dict[str, dict]) -> int:
    return max((r.get("iterations", 0) for r in rows.values()), default=0)


def gp_table(rows: dict[str, dict]) -> Table:
    """Held-out RMSE and log-likelihood of the GP that chose each iteration's batch (mean over
    seeds); rows from before these were kept per iteration show the first fit only."""
    steps = _iterations(rows)
    header = ["model", "GP"] + [f"it. {i + 1}: RMSE / LL" for i in range(steps)]
    body = []
    for model, r in rows.items():
        history = r.get("gp_history") or [[m] for m in r.get("gp_metrics", [])]
        cells = []
        for step in range(steps):
            rmse = _mean_over_seeds([[m["rmse"] for m in h] for h in history], step)
            ll = _mean_over_seeds([[m["loglik"] for m in h] for h in history], step)
            cells.append(NOT_RECORDED if rmse is None else f"{rmse:.3f} / {ll:.3f}")
        body.append([model, r.get("gp_training") or f"{r.get('gp', '?')} GP", *cells])
    note = (
        "The GP surrogate on the 10% of the codes BO holds out: root mean squared error of its "
        "mean and mean predictive log-likelihood, mean over seeds, for the GP fitted before each "
        "iteration."
    )
    return Table("GP quality per BO iteration", header, body, note=note)


def progress_table(rows: dict[str, dict]) -> Table:
    """BO's best score so far after each iteration (mean over seeds), the share of valid
    proposals not in the training data, and the data's own scores for scale."""
    steps = _iterations(rows)
    header = ["model"] + [f"best after it. {i + 1}" for i in range(steps)] + ["new to the data"]
    body = []
    for model, r in rows.items():
        curves = r.get("best_so_far")
        cells = [
            NOT_RECORDED
            if curves is None
            else "–"
            if (m := _mean_over_seeds(curves, step)) is None
            else f"{m:.2f}"
            for step in range(steps)
        ]
        novel = r.get("novel_fraction")
        body.append([model, *cells, NOT_RECORDED if novel is None else f"{novel:.2f}"])
    scales = [r["data_scores"] for r in rows.values() if r.get("data_scores")]
    if scales:
        for key, label in (("best", "best"), ("top_1pct", "best 1%"), ("median", "median")):
            body.append([f"data: {label}", *([f"{scales[0][key]:.2f}"] * steps), "–"])
    note = (
        "Best valid score found so far, mean over BO seeds; new to the data: share of the valid "
        "proposals that are not in the training data (canonical SMILES for molecules); the "
        "data rows give the scores of the training data itself (its best, the boundary of its "
        "best 1%, its median) for scale."
    )
    return Table("BO progress against the data's own scores", header, body, note=note)


def best_so_far_png(rows: dict[str, dict], lower: bool) -> bytes | None:
    """A plot of every model's best-so-far curves (one line per seed), PNG bytes; None when no
    row recorded them."""
    # slow to import; only this path needs it
    import matplotlib

    matplotlib.use("Agg")
    # slow to import; only this path needs it
    import matplotlib.pyplot as plt

    if not any(r.get("best_so_far") for r in rows.values()):
        return None
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for index, (model, r) in enumerate(rows.items()):
        for seed, curve in enumerate(r.get("best_so_far") or []):
            points = [(i + 1, v) for i, v in enumerate(curve) if v is not None]
            if points:
                ax.plot(
                    *zip(*points),
                    color=f"C{index}",
                    alpha=0.7,
                    marker="o",
                    label=model if seed == 0 else None,
                )
    ax.set_xlabel("BO iteration")
    ax.set_ylabel(f"best score so far ({'lower' if lower else 'higher'} is better)")
    ax.legend()
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


# GrammarVAE's own trained expression GVAE (its pretrained/ weights), measured by raekit with
# GrammarVAE's counts on 500 expressions of the file's last 10% (reconstruction accuracy, prior
# validity of N(0, I) draws): `python experiments/grammarvae_pretrained_measures.py` prints them.
GRAMMARVAE_PRETRAINED = {"expressions": {"gvae": (0.974, 0.498)}}


def measures_table(task: str, checks: dict[str, dict]) -> Table | None:
    """GrammarVAE's measures (`raekit.bo.measures`) of every model that has them, beside those of
    GrammarVAE's own trained model where raekit measured it; None when no model has them."""
    measured = {m: c.get("grammarvae_measures") for m, c in checks.items() if c}
    measured = {m: v for m, v in measured.items() if v}
    if not measured:
        return None
    header = ["model", "rec. accuracy", "prior validity", "prior", "GrammarVAE's model"]
    body = []
    for model, v in measured.items():
        rec, prior = v.get("reconstruction"), v.get("prior_validity")
        theirs = GRAMMARVAE_PRETRAINED.get(task, {}).get(model)
        body.append(
            [
                model,
                "–" if rec is None else f"{rec['accuracy']:.3f}",
                "–" if prior is None else f"{prior['fraction']:.3f}",
                "–" if prior is None else prior["prior"],
                "–" if theirs is None else f"{theirs[0]:.3f} / {theirs[1]:.3f}",
            ]
        )
    counts = next(iter(measured.values()))["counts"]
    items = next(iter(measured.values()))["items"]
    note = (
        f"GrammarVAE's measures: reconstruction accuracy over {items} test items, each encoded "
        f"{counts['encodings']} times and each encoding decoded {counts['decodings']} times "
        "(share of decodings that give the item back); prior validity: share of valid decodings "
        f"of {counts['prior_draws']} prior draws x {counts['prior_decodings']} decodings. "
        "GrammarVAE's model: its own trained weights run in raekit, same measures (reconstruction "
        "/ prior validity); the paper reports neither."
    )
    return Table("GrammarVAE's measures", header, body, note=note)
