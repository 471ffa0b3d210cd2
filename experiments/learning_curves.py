"""Learning curves: every model of one seed of a `raekit reproduce` folder evaluated as of the
epochs its runs kept (`keep_epochs`, e.g. the cpu-converged preset's 8, 25 and 50) and as they
ended, with all four Table 1 columns, one plot per column (FID against epoch, one line per model)
and Spearman's rho against the paper's ordering at each point.

    python experiments/learning_curves.py runs/mnist-converged --epochs 8,25,50 \\
        --out runs/mnist-curves

Each point is a reproduction folder of its own (OUT/epoch-008/, ..., OUT/final/) evaluated with
`raekit reproduce --only-trained` (features and sample count of the source reproduction unless
given); OUT/learning_curves.csv, spearman.csv, fid-*.png and learning_curves.json summarise them.
Runs that have not reached an epoch yet are left out of that point, so curves can be drawn while
training goes on; run it again later and finished evaluations are reused.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from raekit.errors import RaekitError
from raekit.paper import learning_curves as lc
from raekit.paper.reported import TABLE1, TABLE1_MODELS
from raekit.paper.results_file import read_results


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("repro", type=Path, help="a `raekit reproduce` folder (MODEL/seedK runs)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", default="8,25,50", help="comma-separated epochs (kept by the runs)")
    p.add_argument("--no-final", action="store_true", help="leave out the runs as they ended")
    p.add_argument(
        "--final-from",
        type=Path,
        help="the reproduction whose runs give the final point (default: REPRO), for kept "
        "epochs that come from a second training of the same config",
    )
    p.add_argument("--features", help="default: the source reproduction's")
    p.add_argument("--n", type=int, help="samples per FID (default: the source reproduction's)")
    p.add_argument("--paper", help="the paper's table to rank against (default: the dataset's)")
    p.add_argument("--models", default=",".join(TABLE1_MODELS))
    return p.parse_args(argv)


def main(argv=None) -> int:
    try:
        return run(argv)
    except RaekitError as exc:  # one line, as raekit's commands give
        print(f"learning_curves: {exc}", file=sys.stderr)
        return 2


def run(argv) -> int:
    args = parse(argv)
    source = read_results(args.repro)
    if args.final_from is not None:
        read_results(args.final_from)  # checked before any point is evaluated
    paper = args.paper or source["dataset"]
    if paper not in TABLE1:
        print(f"--paper must be one of {', '.join(TABLE1)}", file=sys.stderr)
        return 2
    epochs = [int(e) for e in args.epochs.split(",") if e.strip()]
    models = [m for m in args.models.split(",") if m]
    points = []
    for epoch in [*epochs, *([] if args.no_final else [None])]:
        print(f"== {lc.point_name(epoch)} ==", flush=True)
        from_final = epoch is None and args.final_from is not None
        found = lc.evaluate_point(
            args.final_from if from_final else args.repro,
            args.out,
            args.seed,
            epoch,
            args.features or source["features"],
            args.n or source["n"],
            models,
        )
        if found is None:
            print(f"{lc.point_name(epoch)}: no run has reached it yet", flush=True)
        else:
            points.append(found)
    command = "python experiments/learning_curves.py " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    summary = lc.write_summary(args.out, points, paper, command)
    for row in summary["spearman"]:
        rho = "-" if row["spearman"] is None else f"{row['spearman']:.2f}"
        print(f"{row['point']:>10}  {row['column']:<6} rho {rho} ({row['models']} models)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
