"""Learning curve of a sequence model (molecules or expressions): exact reconstruction of
held-out items against training updates, from a run trained one epoch at a time with a
`raekit grammar-check` report kept after each epoch.

    raekit grammar-train --task molecules --model gvae --preset cpu --out RUN --epochs 1 \\
        --set max_rows=125000
    raekit grammar-check RUN --n 500 --encodings 0 --prior-draws 0
    cp RUN/check.json CHECKS/epoch1.json
    # then for k = 2, 3, ...: grammar-train ... --epochs k --resume, grammar-check, copy
    python experiments/sequence_learning_curve.py RUN CHECKS --out OUT

OUT/learning_curve.csv has one row per epoch: updates so far, wall seconds so far (training
only, from metrics.csv), the training and validation losses, and the check's greedy exact
reconstruction, per-symbol accuracy and correct prefix (`raekit.bo.symbols`; empty for reports
that predate them) and validity; OUT/learning_curve.png plots them (%) and the validation
reconstruction loss against updates.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
from pathlib import Path

from raekit import runs

FIELDS = (
    "epoch",
    "updates",
    "train_seconds",
    "train_loss",
    "valid_rec",
    "exact",
    "symbol_accuracy",
    "correct_prefix",
    "valid_decodings",
    "held_out",
)


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", type=Path, help="the training run (metrics.csv, config.yaml)")
    p.add_argument("checks", type=Path, help="folder of epochK.json grammar-check reports")
    p.add_argument("--out", type=Path, required=True)
    return p.parse_args(argv)


def curve_rows(run: Path, checks: Path) -> list[dict]:
    """One row per epoch that has a check report."""
    config = runs.read_config(run)
    metrics = {int(m["epoch"]): m for m in runs.read_metrics(run)}
    rows, seconds = [], 0.0
    reports = {}
    for path in checks.glob("epoch*.json"):
        match = re.fullmatch(r"epoch(\d+)\.json", path.name)
        if match:
            reports[int(match.group(1))] = json.loads(path.read_text())
    for epoch in sorted(metrics):
        seconds += float(metrics[epoch]["seconds"])
        report = reports.get(epoch)
        if report is None:
            continue
        per_epoch = math.ceil(report["data"]["n"] / config.batch_size)
        rows.append(
            {
                "epoch": epoch,
                "updates": epoch * per_epoch,
                "train_seconds": round(seconds, 1),
                "train_loss": float(metrics[epoch]["train_loss"]),
                "valid_rec": float(metrics[epoch]["valid_rec"]),
                "exact": report["reconstruction"]["exact"],
                "symbol_accuracy": report["reconstruction"].get("symbol_accuracy"),
                "correct_prefix": report["reconstruction"].get("correct_prefix"),
                "valid_decodings": report["reconstruction"]["fraction_valid"],
                "held_out": report["reconstruction"]["n"],
            }
        )
    return rows


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    updates = [r["updates"] for r in rows]
    fig, left = plt.subplots(figsize=(5.5, 3.5))
    left.plot(updates, [100 * r["exact"] for r in rows], "o-", color="C0", label="exact")
    measured = [r for r in rows if r["symbol_accuracy"] is not None]
    for key, style, colour, label in (
        ("symbol_accuracy", "^:", "C2", "per symbol"),
        ("correct_prefix", "v:", "C3", "correct prefix"),
    ):
        left.plot(
            [r["updates"] for r in measured],
            [100 * r[key] for r in measured],
            style,
            color=colour,
            label=label,
        )
    left.set_xlabel("training updates")
    left.set_ylabel("held-out reconstruction (%)")
    left.set_ylim(-3, 103)
    right = left.twinx()
    right.plot(updates, [r["valid_rec"] for r in rows], "s--", color="C1", label="valid. loss")
    right.set_ylabel("validation reconstruction loss", color="C1")
    handles = left.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    left.legend(handles[0] + more[0], handles[1] + more[1], loc="center left", fontsize=7)
    left.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None) -> int:
    args = parse(argv)
    rows = curve_rows(args.run, args.checks)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "learning_curve.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    config = runs.read_config(args.run)
    plot(rows, args.out / "learning_curve.png", f"{config.model}, {config.dataset}")
    for r in rows:
        print(", ".join(f"{k} {r[k]}" for k in FIELDS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
