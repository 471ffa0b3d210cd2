"""The demo: the main job on the embedded default, offline, a few minutes on 2 CPU cores."""

from __future__ import annotations

import time
from pathlib import Path

from raekit import notices
from raekit.config.dataset_specs import DATASET_SPECS
from raekit.data import load_images
from raekit.data.download import fetch
from raekit.errors import RaekitError
from raekit.models import get_variant
from raekit.paper.claims import claims_markdown
from raekit.paper.reproduce import reproduce, run_dir_for

DEMO_MODELS = ("rae-l2", "ae", "vae")
IMAGE_DATASETS = tuple(name for name, spec in DATASET_SPECS.items() if spec.is_image)


def ensure_dataset(name: str | None) -> str:
    """Make `name` loadable (fetching it if needed). Without a name: MNIST, or the bundled digits
    when MNIST cannot be had; a dataset the user named is never replaced by another."""

    if name is not None:
        if name not in IMAGE_DATASETS:
            raise RaekitError(
                f"the demo trains image models; {name!r} is not an image dataset "
                f"(choices: {', '.join(IMAGE_DATASETS)})"
            )
        try:
            load_images(name)
        except RaekitError:  # not cached yet
            fetch(name)
            load_images(name)
        return name
    name = "mnist"
    try:
        try:
            load_images(name)
        except RaekitError:  # not cached yet
            fetch(name)
            load_images(name)
        return name
    except RaekitError as exc:
        notices.note(
            f"could not obtain {name} ({exc}); using scikit-learn's digits instead "
            f"(name a dataset with --dataset to be told why instead)"
        )
        return "digits"


def run_demo(
    out: str | Path = "raekit-demo",
    dataset: str | None = None,
    models=DEMO_MODELS,
    preset: str = "tiny",
    n: int = 1000,
    seeds=(0,),
) -> dict:
    """Train the demo models, fit their Gaussian and GMM densities, evaluate them (classifier
    features, n samples), check the paper's claims on them and write the figures and report.html;
    print where everything is."""

    out = Path(out)
    started = time.perf_counter()
    models = [get_variant(m).name for m in models]
    if not models:
        raise RaekitError(f"--models names no model (e.g. {','.join(DEMO_MODELS)})")
    dataset = ensure_dataset(dataset)
    print(
        f"raekit demo: on {dataset}, trains {', '.join(models)} ({preset} preset, seeds "
        f"{','.join(map(str, seeds))}), fits a Gaussian and a 10-component GMM on each model's codes, scores "
        f"reconstructions, samples and interpolations by FID and PRD ({n} samples, classifier features), "
        f"checks the paper's claims and writes {out / 'report.html'}; the time estimate follows. Finished "
        "runs are reused when re-run.",
        flush=True,
    )
    results = reproduce(dataset, preset, out, models, seeds=seeds, features="classifier", n=n)
    print("\n" + (out / "table1.md").read_text())
    print(claims_markdown(results["claims"]))
    print("runs:")
    for model in models:
        for seed in seeds:
            print(
                f"  {model:8s} {run_dir_for(out, model, seed)}  (config.yaml, model.safetensors, metrics.csv, "
                f"densities/, figures/)"
            )
    print(f"report: {out / 'report.html'}  (done in {time.perf_counter() - started:.0f} s)")
    return results
