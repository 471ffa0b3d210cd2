"""Each run's time estimate beside what happened, from the estimates.json of `raekit reproduce`
folders (or their exported copies under results/), as a Markdown table:

    python experiments/estimate_check.py results/mnist-converged results/fashion-mnist-converged

An estimate is made when a call starts, from steps timed on the machine as it is then; the
training seconds are wall time (validation, checkpoints and any pause included).
"""

from __future__ import annotations

import sys
from pathlib import Path

from raekit.paper.estimate_log import estimate_vs_actual, read_log

COLUMNS = ("folder", "run", "started (UTC)", "epochs est.", "epochs", "est. s", "actual s", "ratio")


def main(argv=None) -> int:
    folders = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    if not folders:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + " --- |" * len(COLUMNS))
    for folder in folders:
        for r in estimate_vs_actual(read_log(folder)):
            cells = (folder.name, r["run"], r["started_utc"][:16].replace("T", " "))
            cells += (r["epochs_estimated"], r["epochs_trained"], r["seconds_estimated"])
            cells += (r["seconds_trained"], f"{r['ratio']:.2f}")
            print("| " + " | ".join(str(c) for c in cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
