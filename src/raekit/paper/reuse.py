"""When a run or an evaluation already on disk may stand in for the one asked for."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

from raekit import runs
from raekit.config import RunConfig
from raekit.errors import RaekitError
from raekit.generation.densities import density_stem, run_density_options
from raekit.io.transfer import digest
from raekit.metrics.classifier import pinned_fingerprint

# Settings that change where or how a run is computed, never what it computes.
OPERATIONAL = ("data_root", "device", "engine", "keep_checkpoints", "keep_epochs")
# Settings of the evaluation only: a trained run is reused under another protocol and evaluated
# again (see align_protocol).
EVALUATION = ("eval_images", "rec_sampled", "rec_second_stage")


def config_differences(saved: RunConfig, asked: RunConfig) -> list[str]:
    """'key: saved there, asked here' for every setting that changes the result."""
    there, here = dataclasses.asdict(saved), dataclasses.asdict(asked)
    return [
        f"{key} {there[key]!r} (asked {here[key]!r})"
        for key in here
        if key not in OPERATIONAL + EVALUATION and there.get(key) != here[key]
    ]


def check_reusable(run_dir: Path, asked: RunConfig) -> RunConfig | None:
    """The saved config of run_dir if it matches `asked`; None if there is no run; else one error line."""
    run_dir = Path(run_dir)
    if not (run_dir / runs.CONFIG_FILE).exists():
        return None
    saved = runs.read_config(run_dir)
    diffs = config_differences(saved, asked)
    if diffs:
        raise RaekitError(
            f"{run_dir} holds a different run ({', '.join(diffs)}); "
            f"use another --out or move it away"
        )
    return saved


def align_protocol(run_dir: Path, asked: RunConfig) -> None:
    """Give a reused run the evaluation protocol asked for (its weights are untouched; an
    eval.json of the old protocol no longer matches, so the run is evaluated again)."""
    saved = runs.read_config(run_dir)
    wanted = {key: getattr(asked, key) for key in EVALUATION}
    if any(getattr(saved, key) != value for key, value in wanted.items()):
        runs.write_config(run_dir, dataclasses.replace(saved, **wanted))


def trained_epochs(run_dir: Path) -> int:
    metrics = runs.read_metrics(run_dir)
    return int(metrics[-1]["epoch"]) if metrics else 0


def is_finished(run_dir: Path, config: RunConfig) -> bool:
    """All epochs logged (or the early-stop rule ended the run), best weights saved and the
    run's completion marker set."""
    run_dir = Path(run_dir)
    return (
        (run_dir / runs.WEIGHTS_FILE).exists()
        and (trained_epochs(run_dir) >= config.epochs or runs.stopped_early(run_dir) is not None)
        and runs.is_finished(run_dir)
    )


def fingerprints(run_dir: Path, config: RunConfig, densities) -> dict[str, Any]:
    """SHA-256 of the weights file and of each density's files: what an evaluation was computed
    from. Recorded in eval.json; an evaluation is reused only while every one still matches."""
    run_dir = Path(run_dir)
    found = {}
    for kind in densities:
        components = run_density_options(config, kind, {}).get("components")
        stem = density_stem(run_dir, kind, components)
        found[kind] = _digest(*(stem.with_name(stem.name + s) for s in (".json", ".safetensors")))
    return {"weights": _digest(run_dir / runs.WEIGHTS_FILE), "densities": found}


def _digest(*paths: Path) -> str | None:
    """One SHA-256 over the files' SHA-256s; None when one is missing."""
    if not all(p.is_file() for p in paths):
        return None
    return hashlib.sha256("".join(digest(p) for p in paths).encode()).hexdigest()


def eval_matches(
    previous: dict[str, Any] | None,
    features: str,
    n: int,
    seed: int,
    densities: list[str] | None,
    protocol: dict[str, Any] | None = None,
    *,
    run_dir: Path,
    config: RunConfig,
    classifier: Path | None = None,
) -> bool:
    """Whether an eval.json answers the evaluation asked for: same extractor, count, seed and
    densities, the same protocol (which images REC and Interp. use), computed from the weights
    and density files the run holds now (a resumed or refitted run is evaluated again) and, for
    classifier features with a pinned `classifier` folder, with that classifier."""
    if not previous or "valid_loglik" not in previous:
        return False
    if protocol is not None and previous.get("protocol") != protocol:
        return False
    wanted = densities or [previous["columns"]["N"], "gmm"]
    if not (
        previous.get("features") == features
        and previous.get("n_requested", previous.get("n")) == n
        and previous.get("seed", 0) == seed
        and all(d in previous["fid"] for d in wanted)
    ):
        return False
    if features == "classifier" and classifier is not None:
        wanted = pinned_fingerprint(classifier)  # None: nothing says which classifier it used
        if wanted is None or previous.get("extractor_fingerprint") != wanted:
            return False
    saved = previous.get("fingerprints")
    if not isinstance(saved, dict) or not isinstance(saved.get("densities"), dict):
        return False  # from before fingerprints were recorded: nothing proves it is current
    now = fingerprints(run_dir, config, list(saved["densities"]))
    return now["weights"] is not None and now == saved
