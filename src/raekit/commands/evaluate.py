"""raekit evaluate / reproduce."""

from __future__ import annotations

import argparse
from pathlib import Path

from raekit.commands import arguments
from raekit.commands.config_file import add_config_option, apply_to_reproduce
from raekit.commands.options import add_device_option, add_set_option, add_track_option
from raekit.io.jsonio import dumps
from raekit.paper.reported import TABLE1_MODELS


def _densities(text: str | None) -> list[str] | None:
    """The --densities list, checked before any work starts."""
    # imported on use: `raekit --help` loads none of this
    from raekit.paper.run_scores import check_density_names

    names = [d.strip() for d in text.split(",") if d.strip()] if text else None
    check_density_names(names)
    return names


def _eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--features",
        choices=("inception", "classifier"),
        help="feature extractor (default: classifier for the paper's datasets, inception for "
        "your own images; inception needs `raekit fetch inception`)",
    )
    p.add_argument("--n", type=int, default=10_000, help="samples per FID / PRD (paper: 10000)")
    p.add_argument(
        "--densities",
        help="comma-separated densities to sample from (default: the model's N "
        "density and gmm), e.g. gaussian,gmm,two-stage",
    )


EVALUATE_EPILOG = """examples:
  raekit evaluate runs/mnist-rae
  raekit evaluate runs/mine --features inception --n 5000 --device cuda
  raekit evaluate runs/mnist-rae --densities gaussian,gmm,two-stage --track mlflow"""

REPRODUCE_EPILOG = """examples:
  raekit reproduce --dataset digits --preset tiny --out repro-digits
  raekit reproduce --dataset mnist --preset cpu --seeds 0,1,2 --out repro-mnist
  raekit reproduce --config my.yaml --models ae,vae,rae-l2 --out repro-mine
  raekit reproduce --dataset mnist --out repro-mnist --only-trained"""


def register(sub: argparse._SubParsersAction) -> None:
    _add_evaluate(sub)
    _add_reproduce(sub)
    _add_export_results(sub)
    _add_reproduce_fig3(sub)


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="FID and PRD of a run (Table 1 and 2 row) into RUN/eval.json",
        epilog=EVALUATE_EPILOG,
    )
    p.add_argument("run", help="a trained run directory")
    _eval_args(p)
    p.add_argument("--seed", type=arguments.seed, default=0, help="seed of the samples and of PRD")
    add_track_option(p)
    add_device_option(p)
    p.set_defaults(handler=run_evaluate)


def _add_reproduce(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reproduce",
        help="train and evaluate every Table 1 model; tables and report.html",
        description="Train (or reuse) every model of Table 1, fit densities, evaluate and write "
        "table1.md, table2.md, results.json and a self-contained report.html. "
        "Re-running picks up where it stopped.",
        epilog=REPRODUCE_EPILOG,
    )
    p.add_argument("--dataset", help="the dataset of every run (default: mnist)")
    p.add_argument("--preset", help="the preset of every run (default: cpu)")
    p.add_argument("--out", required=True, help="the reproduction's folder (created, or resumed)")
    add_config_option(p)
    p.add_argument(
        "--models",
        default=",".join(TABLE1_MODELS),
        help="comma-separated models (default: %(default)s)",
    )
    p.add_argument(
        "--seeds",
        default="0",
        help="comma-separated training seeds; runs go to OUT/MODEL/seedK "
        "and the tables show mean ± std over seeds (default: 0)",
    )
    p.add_argument(
        "--only-trained",
        action="store_true",
        help="train nothing: evaluate and tabulate the finished runs only (while training goes on)",
    )
    add_set_option(p, "config values over the preset's, for every run (e.g. epochs=2)")
    p.add_argument(
        "--no-estimate",
        dest="estimate",
        action="store_false",
        help="skip measuring step times for the time estimate",
    )
    _eval_args(p)
    add_track_option(p, "log every run (one experiment for all)")
    add_device_option(p)
    p.set_defaults(handler=run_reproduce)


def _add_export_results(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export-results",
        help="copy a reproduction into results/NAME; update its results page",
        description="Copy table1.md, table2.md, results.json, report.html and each run's "
        "config.yaml, metrics.csv and eval.json into --dest, its trained weights into "
        "--dest/weights/ (run folders raekit loads as they are), and with --readme rewrite "
        "that reproduction's block of the page's Results section. A reproduce-fig2 folder "
        "gives fig2.md, fig2.json, fig2.html, each model's bo.json, config.yaml, metrics.csv "
        "and check.json, and its weights the same way.",
    )
    p.add_argument("repro", help="a reproduction folder (raekit reproduce or reproduce-fig2 --out)")
    p.add_argument("--dest", required=True, help="e.g. results/mnist-cpu")
    p.add_argument(
        "--readme", help="the Markdown page whose Results section gets the tables (docs/results.md)"
    )
    p.set_defaults(handler=run_export)


def _add_reproduce_fig3(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reproduce-fig3", help="Appendix A: VAE FID against k samples and KL weight")
    p.add_argument("--dataset", default="mnist", help="mnist, cifar10 or celeba")
    p.add_argument("--preset", default="cpu", help="size preset of the VAE runs")
    p.add_argument("--out", required=True, help="folder of the runs, fig3.md and fig3.html")
    p.add_argument("--ks", default="1,2,5", help="posterior samples per input (left panel)")
    p.add_argument(
        "--kl-weights", default="1e-3,1e-2,1e-1,1,10,100", help="KL weights (right panel)"
    )
    p.add_argument("--epochs", type=int, help="epochs per run (default: the preset's)")
    p.add_argument(
        "--features",
        default="classifier",
        choices=("inception", "classifier"),
        help="the feature extractor of FID",
    )
    p.add_argument("--n", type=int, default=2000, help="test images per FID")
    add_device_option(p)
    p.set_defaults(handler=run_fig3)


def run_evaluate(args) -> int:
    # imported on use: `raekit --help` loads none of this
    from raekit.paper.run_scores import evaluate_run
    from raekit.runs import Run
    from raekit.training.tracking import parse_backends, track_eval

    parse_backends(args.track)  # an unknown tracker is refused before any work
    run = Run.of(args.run)
    result = evaluate_run(
        run, features=args.features, n=args.n, densities=_densities(args.densities), seed=args.seed
    )
    if args.track:
        track_eval(args.track, run.directory, result)
    summary = {k: result[k] for k in ("model", "dataset", "extractor", "n", "fid")}
    summary["prd"] = {k: {"f8": v["f8"], "f1_8": v["f1_8"]} for k, v in result["prd"].items()}
    print(dumps(summary))
    return 0


def parse_seeds(text: str) -> list[int]:
    # imported on use: `raekit --help` loads none of this
    from raekit.errors import RaekitError

    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise RaekitError(f"--seeds takes comma-separated integers, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise RaekitError(f"--seeds takes distinct non-negative integers, got {text!r}")
    return seeds


def run_reproduce(args) -> int:
    # imported on use: `raekit --help` loads none of this
    from raekit.config import parse_assignments
    from raekit.models import get_variant
    from raekit.paper.claims import claims_markdown
    from raekit.paper.reproduce import reproduce

    file_values = apply_to_reproduce(args)
    models = [get_variant(m.strip()).name for m in args.models.split(",") if m.strip()]
    results = reproduce(
        args.dataset or "mnist",
        args.preset or "cpu",
        args.out,
        models,
        seeds=parse_seeds(args.seeds),
        features=args.features or "classifier",
        n=args.n,
        densities=_densities(args.densities),
        train=not args.only_trained,
        estimate=args.estimate,
        overrides={**file_values, **parse_assignments(args.set)},
        track=args.track,
    )
    for name in ("table1.md", "table2.md"):
        print(Path(args.out, name).read_text())
    print(claims_markdown(results["claims"]))
    return 0


def run_export(args) -> int:
    # imported on use: `raekit --help` loads none of this
    from raekit.paper.export import export_results
    from raekit.paper.export_fig2 import export_fig2, is_fig2

    export = export_fig2 if is_fig2(args.repro) else export_results
    print(export(args.repro, args.dest, args.readme))
    return 0


def run_fig3(args) -> int:
    # imported on use: `raekit --help` loads none of this
    from raekit.errors import RaekitError
    from raekit.paper.figure3 import reproduce_fig3

    try:
        ks = [int(k) for k in args.ks.split(",")]
        weights = [float(w) for w in args.kl_weights.split(",")]
    except ValueError:
        raise RaekitError("--ks takes integers and --kl-weights numbers, comma-separated") from None
    path = reproduce_fig3(
        args.dataset, args.preset, args.out, ks, weights, args.features, args.n, args.epochs
    )
    print(Path(args.out, "fig3.md").read_text())
    print(path)
    return 0
