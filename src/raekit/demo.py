"""The demo: the main job on the embedded default, offline, a few minutes on 2 CPU cores."""
from __future__ import annotations

import sys
from pathlib import Path

from raekit.config import make_config
from raekit.reproduce import train_or_reuse
from raekit.errors import RaekitError

DEMO_MODELS = ("rae-l2", "ae", "vae")


def ensure_dataset(name: str) -> str:
    """Make `name` loadable (fetching it if needed); fall back to the bundled digits if that fails."""
    from raekit.data import load_images
    try:
        load_images(name)
        return name
    except RaekitError:
        pass
    try:
        from raekit.fetch import fetch
        fetch(name)
        load_images(name)
        return name
    except RaekitError as exc:
        print(f"raekit: could not obtain {name} ({exc}); using scikit-learn's digits instead",
              file=sys.stderr)
        return "digits"


def run_demo(out: str | Path = "raekit-demo", dataset: str = "mnist", models=DEMO_MODELS,
             preset: str = "tiny") -> dict[str, Path]:
    out = Path(out)
    dataset = ensure_dataset(dataset)
    run_dirs = {}
    for model in models:
        config = make_config(dataset, model, preset)
        print(f"== {model} on {dataset} ({preset} preset) ==", flush=True)
        run_dirs[model] = train_or_reuse(config, out / model)
    print("\nruns:")
    for model, path in run_dirs.items():
        print(f"  {model:8s} {path}  (config.yaml, model.safetensors, metrics.csv, checkpoints/)")
    return run_dirs
