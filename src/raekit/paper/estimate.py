"""The time a reproduction will take, from costs measured on this machine before it starts.

Training: seconds per optimiser step and per validation batch of each model, measured on real
images (one warm-up step, then a few timed ones), times the batches still to run. Evaluation:
the model's forward cost per image, the feature extractor's per image and one PRD at up to 1,000
points (scaled linearly in n), times what each evaluation computes. Density fits (seconds for a
GMM, longer for the two-stage VAE) are not counted.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

import numpy as np
import torch

from raekit import runs
from raekit.data import config_images
from raekit.devices import compute_device
from raekit.generation import decode_codes, encode_images
from raekit.metrics import get_extractor, prd
from raekit.models.build import build_from_config
from raekit.paper import reuse
from raekit.paper.first_stage import first_stage_of
from raekit.paper.run_scores import protocol, read_eval
from raekit.training.utils import to_input

STEPS = 3


def _timed(fn, repeats: int) -> float:
    fn()  # warm-up: allocations, lazy initialisation
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def model_costs(config, images: np.ndarray) -> dict[str, float]:
    """Seconds of `config`'s model per training step and per validation batch (batch_size images),
    and per image encoded and decoded in evaluation (batches of 500, as raekit.generation does)."""

    torch.manual_seed(config.seed)
    device = compute_device(config.device)  # timed where the runs will train
    model = build_from_config(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    x = to_input(torch.from_numpy(np.ascontiguousarray(images[: config.batch_size])), device)

    def step():
        optimizer.zero_grad(set_to_none=True)
        model.loss(x)["loss"].backward()
        optimizer.step()

    def forward():
        with torch.no_grad():
            model.loss(x)

    model.train()
    costs = {"step": _timed(step, STEPS)}
    model.eval()
    costs["valid"] = _timed(forward, STEPS)
    batch = images[:500]
    costs["encode"] = _timed(lambda: encode_images(model, batch), 1) / len(batch)
    codes = encode_images(model, batch)
    costs["decode"] = _timed(lambda: decode_codes(model, codes), 1) / len(batch)
    model.train()
    return costs


def extractor_costs(features: str, dataset: str, data, n: int) -> tuple[float, float]:
    """(seconds per image of the feature extractor, seconds per PRD of n against n images)."""

    extractor = get_extractor(features, dataset=dataset, data=data)
    sample = data.test[:200]
    per_image = _timed(lambda: extractor(sample), 1) / len(sample)
    m = min(n, 1000)
    feats = extractor(data.test[:m])
    noisy = feats + np.random.default_rng(0).normal(scale=feats.std() * 0.1, size=feats.shape)
    start = time.perf_counter()
    prd(noisy, feats)
    return per_image, (time.perf_counter() - start) * n / m


def _clock(seconds: float) -> str:
    if seconds < 600:  # short jobs: to the 10 seconds, so "2m" never hides 2m50s
        tens = int(round(seconds / 10)) * 10
        return f"{tens // 60}m{tens % 60:02d}s" if tens >= 60 else f"{tens}s"
    minutes = int(round(seconds / 60))
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def expected_epochs(jobs) -> float | None:
    """Mean epochs of this reproduction's finished runs that had an early-stop rule (None: no
    such run has ended yet, so only the maximum is known)."""
    done = [
        reuse.trained_epochs(j.run_dir)
        for j in jobs
        if j.config.stop_patience is not None
        and (j.run_dir / runs.STATUS_FILE).is_file()
        and runs.is_finished(j.run_dir)
        and not first_stage_of(j.run_dir)
    ]
    return sum(done) / len(done) if done else None


def observed_epoch_seconds(jobs) -> dict[str, float]:
    """Median training seconds per epoch (validation excluded) of each model's epochs already
    trained in this reproduction, past each run's first epoch (which may include a compile)."""
    found: dict[str, list[float]] = {}
    for job in jobs:
        if job.exists and not first_stage_of(job.run_dir):
            rows = runs.read_metrics(job.run_dir)[1:]
            found.setdefault(job.model, []).extend(float(r["seconds"]) for r in rows)
    return {model: statistics.median(v) for model, v in found.items() if v}


def training_plans(to_train, jobs, data, costs) -> list[dict]:
    """Per run to train: seconds per epoch (training from the model's epochs trained here if any,
    else from timed eager steps; validation from timed batches), the epochs left at most, and the
    epochs left if it ends after as many epochs as this reproduction's ended runs."""
    mean, seen = expected_epochs(jobs), observed_epoch_seconds(jobs)
    plans = []
    for job in to_train:
        c, step, fwd = job.config, costs[job.model]["step"], costs[job.model]["valid"]
        batches = math.ceil(len(data.train[: c.train_limit]) / c.batch_size)
        valid_batches = math.ceil(len(data.valid[: c.valid_limit]) / c.batch_size)
        # Epochs already trained by this model here (any seed) measure the engine really used.
        per_epoch = seen.get(job.model, batches * step) + valid_batches * fwd
        done = reuse.trained_epochs(job.run_dir) if job.exists else 0
        likely = c.epochs if mean is None or c.stop_patience is None else min(c.epochs, mean)
        plans.append(
            {
                "run": str(job.run_dir),
                "seconds_per_epoch": per_epoch,
                "basis": "trained epochs" if job.model in seen else "timed steps",
                "epochs_done": done,
                "epochs_left": c.epochs - done,
                "epochs_expected": max(likely - done, 0.0),
            }
        )
    return plans


def estimate(
    jobs, features: str, n: int, densities, train: bool, data=None
) -> dict[str, float] | None:
    """Seconds of training and of evaluation still to do for `jobs` (reproduce's plan)."""

    # A 2sVAE whose first stage is the VAE of its seed is not trained (raekit.paper.first_stage).
    to_train = [j for j in jobs if train and not j.finished and not getattr(j, "first_stage", None)]
    to_eval = [
        j
        for j in jobs
        if (train or j.finished)
        and not reuse.eval_matches(
            read_eval(j.run_dir),
            features,
            n,
            j.seed,
            densities,
            protocol(j.config),
            run_dir=j.run_dir,
            config=j.config,
        )
    ]
    if not to_train and not to_eval:
        return None
    data = data or config_images(jobs[0].config)
    first = {j.model: j.config for j in reversed(to_train + to_eval)}  # one measurement per model
    costs = {model: model_costs(config, data.train) for model, config in first.items()}
    plans = training_plans(to_train, jobs, data, costs)
    training = sum(p["seconds_per_epoch"] * p["epochs_left"] for p in plans)
    expected = sum(p["seconds_per_epoch"] * p["epochs_expected"] for p in plans)
    evaluation = 0.0
    if to_eval:
        per_image, per_prd = extractor_costs(features, jobs[0].config.dataset, data, n)
        kinds = len(densities) if densities else 2
        for job in to_eval:
            c, cost = job.config, costs[job.model]
            # Codes of the training and validation images (densities, interpolation) and the
            # reconstructed ones; decoded: reconstructions, each density's samples, midpoints.
            encoded = len(data.train[: c.train_limit]) + len(data.valid[: c.valid_limit]) + n
            decoded = n * (2 + kinds)
            evaluation += (
                encoded * cost["encode"]
                + decoded * cost["decode"]
                + decoded * per_image
                + kinds * per_prd
            )
    return {
        "train": training,
        "train_expected": expected,
        "expected_epochs": expected_epochs(jobs),
        "max_epochs": max((j.config.epochs for j in to_train), default=0),
        "early_stop": any(j.config.stop_patience is not None for j in to_train),
        "runs": plans,
        "evaluate": evaluation,
        "runs_to_train": len(to_train),
        "runs_to_evaluate": len(to_eval),
        "threads": torch.get_num_threads(),
    }


def print_estimate(
    jobs, features: str, n: int, densities, train: bool, data=None
) -> dict[str, Any] | None:
    """Measure, print and return the estimate (None when nothing is left to do)."""
    print(
        "estimate: measuring training steps, feature extraction and PRD on this machine "
        "(the first use of a dataset's classifier trains it)",
        flush=True,
    )
    found = estimate(jobs, features, n, densities, train, data)
    if found is None:
        print("estimate: every run is trained and evaluated already", flush=True)
        return None
    print(
        f"estimate: {_clock(found['train'] + found['evaluate'])} in all: training {_clock(found['train'])} "
        f"({found['runs_to_train']} runs, {assumption(found)}), evaluation {_clock(found['evaluate'])} "
        f"({found['runs_to_evaluate']} runs; density fits not counted), from step times measured "
        f"now with {found['threads']} threads",
        flush=True,
    )
    if found["early_stop"]:
        print(f"estimate: {expectation(found)}", flush=True)
    return found


def assumption(found: dict[str, Any]) -> str:
    """What the training figure assumes about epochs."""
    if not found["runs"]:
        return "nothing to train"
    if found["early_stop"]:
        return f"every run to its maximum of {found['max_epochs']} epochs; the early-stop rule may end it sooner"
    return f"{found['max_epochs']} epochs per run"


def expectation(found: dict[str, Any]) -> str:
    """The expected training time under early stopping, or why it is not known yet."""
    mean = found["expected_epochs"]
    if mean is None:
        return (
            "no run of this reproduction has ended yet, so the epochs the early-stop rule leaves "
            "are unknown; the training figure is the most it can take"
        )
    return (
        f"training {_clock(found['train_expected'])} if every run ends after {mean:.0f} epochs, "
        f"the mean of the runs of this reproduction that have ended"
    )
