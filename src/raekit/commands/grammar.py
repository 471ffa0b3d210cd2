"""raekit grammar-train / bo / grammar-check / reproduce-fig2: the paper's Section 6.2."""

from __future__ import annotations

import argparse

from raekit.commands import arguments
from raekit.commands.options import add_device_option, add_set_option, add_track_option
from raekit.config import parse_assignments
from raekit.config.variants import SEQUENCE_MODELS
from raekit.errors import RaekitError
from raekit.io.jsonio import dumps


def register(sub: argparse._SubParsersAction) -> None:
    _add_grammar_train(sub)
    _add_bo(sub)
    _add_grammar_check(sub)
    _add_reproduce_fig2(sub)


def _add_grammar_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "grammar-train", help="train a CVAE, GVAE or GRAE on expressions or molecules"
    )
    p.add_argument(
        "--task",
        required=True,
        choices=("expressions", "molecules"),
        help="symbolic expressions or ZINC molecules (SMILES)",
    )
    p.add_argument(
        "--model", required=True, choices=SEQUENCE_MODELS, help="character, grammar or GRAE model"
    )
    p.add_argument("--out", required=True, help="run directory to create (or to resume)")
    p.add_argument("--preset", default="cpu", help="cpu (minutes) or paper (the paper's sizes)")
    p.add_argument("--epochs", type=int, help="maximum epochs (default: the preset's)")
    p.add_argument(
        "--smiles",
        help="SMILES file (.smi / .csv, optionally .gz; default: MOSES via `raekit fetch moses`)",
    )
    p.add_argument(
        "--data-root",
        help="expressions: GrammarVAE's equation2_15_dataset.txt or its folder "
        "(default: the copy from `raekit fetch expressions`, else a "
        "synthetic corpus); molecules: as --smiles",
    )
    add_set_option(p, "override any config value, e.g. --set max_rows=5000")
    p.add_argument(
        "--resume", action="store_true", help="continue from the last checkpoint in --out"
    )
    add_track_option(p)
    _processes_arg(p)
    add_device_option(p)
    p.set_defaults(handler=run_train)


def _add_bo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bo", help="Bayesian optimisation in a sequence model's latent space")
    p.add_argument("run", help="a trained grammar-train run directory")
    _bo_args(p)
    add_device_option(p)
    p.set_defaults(handler=run_bo)


def _add_grammar_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "grammar-check",
        help="reconstruction, Gaussian samples and BO proposals of a sequence model, "
        "against its data (RUN/check.json)",
    )
    p.add_argument("run", help="a trained grammar-train run directory")
    p.add_argument("--n", type=int, default=500, help="test strings and samples (default 500)")
    p.add_argument("--seed", type=arguments.seed, default=0, help="random seed")
    _processes_arg(p)
    _measure_args(p)
    add_device_option(p)
    p.set_defaults(handler=run_check)


def _add_reproduce_fig2(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reproduce-fig2", help="train CVAE, GVAE and GRAE, run BO, write Figure 2's table"
    )
    p.add_argument(
        "--task",
        required=True,
        choices=("expressions", "molecules"),
        help="symbolic expressions or ZINC molecules (SMILES)",
    )
    p.add_argument("--out", required=True, help="the reproduction's folder (created, or resumed)")
    p.add_argument("--preset", default="cpu", help="cpu (minutes) or paper (the paper's sizes)")
    p.add_argument(
        "--models", default=",".join(SEQUENCE_MODELS), help="comma-separated sequence models"
    )
    p.add_argument("--smiles", help="SMILES file for molecules (default: MOSES)")
    p.add_argument(
        "--data-root",
        help="expressions: GrammarVAE's equation2_15_dataset.txt or its folder "
        "(default: the copy from `raekit fetch expressions`)",
    )
    p.add_argument(
        "--train-seeds",
        type=int,
        default=1,
        help="train each model this many times (training seeds 0, 1, ...; folders MODEL, "
        "MODEL-seed1, ...), each with its own BO; the ± is then over the trained models "
        "(default 1)",
    )
    p.add_argument("--epochs", type=int, help="training epochs (default: the preset's)")
    add_set_option(
        p, "other training settings of every model, e.g. max_rows=125000 (see raekit train)"
    )
    _bo_args(p)
    _measure_args(p)
    add_device_option(p)
    p.set_defaults(handler=run_fig2)


def _processes_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--processes",
        type=int,
        default=1,
        help="worker processes to parse 20k strings or more (default 1; 0: one per core)",
    )


def _measure_args(p: argparse.ArgumentParser) -> None:
    """GrammarVAE's measures (`raekit.bo.measures`); 0 skips one."""
    what = {
        "encodings": "encodings of each held-out item for reconstruction accuracy (default 10)",
        "decodings": "decodings of each encoding (default 100)",
        "prior-draws": "codes drawn from the prior for prior validity (default 1000)",
        "prior-decodings": "decodings of each prior draw (default 500)",
    }
    for name, text in what.items():
        p.add_argument(f"--{name}", type=int, help=f"GrammarVAE's measures: {text}; 0 skips")


def _counts(args) -> dict:
    return {
        "encodings": args.encodings,
        "decodings": args.decodings,
        "prior_draws": args.prior_draws,
        "prior_decodings": args.prior_decodings,
    }


def _bo_args(p: argparse.ArgumentParser) -> None:
    _processes_arg(p)
    p.add_argument("--iterations", type=int, default=5, help="BO iterations per seed")
    p.add_argument("--batch", type=int, default=50, help="points proposed per iteration")
    p.add_argument("--seeds", type=int, default=5, help="independent BO runs")
    p.add_argument(
        "--draws", type=int, help="decodings per point (default 25 expressions / 500 molecules)"
    )
    p.add_argument(
        "--gp",
        default="sparse",
        choices=("sparse", "exact"),
        help="sparse: 500 inducing points on the 90%% split (GrammarVAE); exact: an exact "
        "GP on a 1,000-code subsample",
    )
    p.add_argument(
        "--invalid",
        default="worst",
        choices=("worst", "skip"),
        help="worst: every proposal enters the GP's data, an invalid one with log(1+1000) "
        "(expressions) or the data's worst score (molecules), as GrammarVAE; "
        "skip: invalid proposals stay out of the GP",
    )
    p.add_argument(
        "--standardise",
        default="zinc250k",
        choices=("zinc250k", "data"),
        help="molecule scores: GrammarVAE's ZINC250k constants, or the loaded data's mean and std",
    )
    p.add_argument(
        "--max-codes", type=int, help="use at most this many dataset codes to fit the GP"
    )


def run_train(args) -> int:
    # imported on use: `raekit --help` loads none of this
    from raekit.commands.train import run as train_run
    from raekit.grammar.encode import parallel_parsing

    args.dataset = args.task
    if args.smiles and args.data_root:
        raise RaekitError("give --smiles or --data-root, not both")
    args.seed, args.data_root = None, args.smiles or args.data_root
    args.data = None  # train's --data (own images) has no place in a sequence task
    with parallel_parsing(args.processes):
        return train_run(args)


def _bo_options(args) -> dict:
    return dict(
        iterations=args.iterations,
        batch=args.batch,
        seeds=args.seeds,
        draws=args.draws,
        gp=args.gp,
        max_codes=args.max_codes,
        invalid=args.invalid,
        standardise=args.standardise,
    )


def run_bo(args) -> int:
    # imported on use: `raekit --help` loads none of this
    from raekit.bo.optimise import run_bo as bo
    from raekit.grammar.encode import parallel_parsing
    from raekit.runs import Run

    with parallel_parsing(args.processes):
        row = bo(Run.of(args.run), **_bo_options(args))
    print(dumps(row))
    return 0


def run_check(args) -> int:
    # imported on use: `raekit --help` loads none of this
    from raekit.bo.check import check_run, summary_line
    from raekit.grammar.encode import parallel_parsing
    from raekit.runs import Run

    with parallel_parsing(args.processes):
        report = check_run(Run.of(args.run), n=args.n, seed=args.seed, counts=_counts(args))
    print(summary_line(report))
    return 0


def run_fig2(args) -> int:
    # imported on use: `raekit --help` loads none of this
    from raekit.grammar.encode import parallel_parsing
    from raekit.paper.figure2 import reproduce_fig2

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.smiles and args.data_root:
        raise RaekitError("give --smiles or --data-root, not both")
    with parallel_parsing(args.processes):
        path = reproduce_fig2(
            args.task,
            args.out,
            args.preset,
            models,
            data_root=args.smiles or args.data_root,
            check_counts=_counts(args),
            train_seeds=args.train_seeds,
            epochs=args.epochs,
            overrides=parse_assignments(args.set),
            **_bo_options(args),
        )
    print((path.parent / "fig2.md").read_text())
    print(f"report: {path}")
    return 0
