"""The 2-stage VAE's first stage is a VAE of the same config and seed: a reproduction that trains
the VAE reuses its run as the 2sVAE's first stage instead of training the same network twice.

The 2sVAE's run folder gets a copy of the VAE's weights, metrics and completion marker, its own
config (which differs from the VAE's in the model name only) and first_stage.json naming the run
it came from; its N column (the second-stage density) is then fitted on those codes as usual."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

from raekit import runs
from raekit.config import RunConfig
from raekit.errors import RaekitError

FIRST_STAGE_FILE = "first_stage.json"
FIRST_STAGE_OF = {"2svae": "vae"}
COPIED = (runs.WEIGHTS_FILE, "model.json", runs.METRICS_FILE, runs.STATUS_FILE)


def adopt_first_stage(source: Path, run_dir: Path, config: RunConfig, label: str) -> None:
    """Make `run_dir` the run of `config` whose trained network is `source`'s (a finished run of
    the same config but the model name); `label` names `source` in first_stage.json."""
    source, run_dir = Path(source), Path(run_dir)
    saved = runs.read_config(source)
    if dataclasses.replace(saved, model=config.model) != config:
        raise RaekitError(f"{source} is not {config.model}'s first stage (its config differs)")
    run_dir.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        if (source / name).is_file():
            tmp = run_dir / f".{name}.tmp"
            shutil.copyfile(source / name, tmp)
            tmp.replace(run_dir / name)
    runs.write_config(run_dir, config)
    (run_dir / FIRST_STAGE_FILE).write_text(json.dumps({"first_stage": label}) + "\n")


def first_stage_of(run_dir: Path) -> str | None:
    """The run a 2sVAE's first stage was taken from, or None when it was trained itself."""
    try:
        return str(json.loads((Path(run_dir) / FIRST_STAGE_FILE).read_text())["first_stage"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
