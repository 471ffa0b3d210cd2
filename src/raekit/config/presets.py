"""Size and schedule presets: `paper` (Appendix C), `official` (the official code's choices),
`cpu` and `tiny`; per dataset where GrammarVAE's scripts or the paper differ."""

from __future__ import annotations

from typing import Any

from raekit.config import official

PRESETS: dict[str, dict[str, Any]] = {
    # The paper's Appendix C network and schedule.
    "paper": {"width": 1.0, "epochs": 100},
    # 1/16 width, 8 epochs: ~65 s per 50k-image MNIST epoch on 2 CPU cores, so all nine Table 1
    # models train and evaluate in about 2 hours (1/8 width costs 2.2x per epoch).
    "cpu": {"width": 0.0625, "epochs": 8},
    # The cpu preset's nets trained as the paper schedules them (halve the learning rate after 5
    # epochs without validation gain, up to 100 epochs), stopped early once the rate has been
    # halved twice and 10 more epochs bring no gain; the best weights as of epochs 8, 25 and 50
    # are kept for learning curves (raekit.training.stopping).
    "cpu-converged": {
        "width": 0.0625,
        "epochs": 100,
        "stop_patience": 10,
        "stop_after_cuts": 2,
        "keep_epochs": "8,25,50",
    },
    # About 30 s per MNIST model on 2 cores (240 steps): for tests and the demo.
    "tiny": {"width": 0.0625, "epochs": 4, "train_limit": 6000, "valid_limit": 1000},
    # The paper's network size, with the official code's choices where they depart from the paper's
    # text (raekit.config.official; per dataset and model).
    "official": {"width": 1.0, "epochs": 100},
}
_GRAMMARVAE_EXPRESSIONS = {
    "sequence_recipe": "grammarvae",
    "lr_factor": 0.2,
    "lr_patience": 1,
    "min_lr": 1e-4,
}
_GRAMMARVAE_MOLECULES = {
    "sequence_recipe": "grammarvae",
    "lr_factor": 0.2,
    "lr_patience": 3,
    "min_lr": 1e-4,
}
# Presets for the image datasets only (sequence tasks have their own schedules above).
IMAGE_PRESETS = ("cpu-converged",)
# Per (dataset family, model) rows of a preset: preset -> function(family, model, official family).
PRESET_BY_MODEL = {"official": official.official_rows}
PRESET_BY_DATASET = {
    ("paper", "celeba"): {"epochs": 70},
    ("cpu", "digits"): {"epochs": 60},
    ("tiny", "digits"): {"epochs": 12},
    # GrammarVAE's networks and training scripts (expressions: 50 epochs, batches of 600, LR x0.2
    # after 1 epoch without improvement; molecules: 100 epochs, 500, x0.2 after 3; both down to
    # 1e-4); the CPU presets use fewer strings, and for molecules a GRU of 128.
    ("paper", "expressions"): {
        "epochs": 50,
        "batch_size": 600,
        "width": 1.0,
        "max_rows": 100_000,
        **_GRAMMARVAE_EXPRESSIONS,
    },
    ("cpu", "expressions"): {
        "epochs": 30,
        "batch_size": 600,
        "width": 1.0,
        "max_rows": 100_000,
        **_GRAMMARVAE_EXPRESSIONS,
    },
    ("tiny", "expressions"): {
        "epochs": 3,
        "batch_size": 100,
        "width": 1.0,
        "max_rows": 2_000,
        "train_limit": None,
        "valid_limit": None,
        **_GRAMMARVAE_EXPRESSIONS,
    },
    ("paper", "molecules"): {
        "epochs": 100,
        "batch_size": 500,
        "width": 1.0,
        **_GRAMMARVAE_MOLECULES,
    },
    ("cpu", "molecules"): {
        "epochs": 20,
        "batch_size": 500,
        "width": 1.0,
        "max_rows": 20_000,
        **_GRAMMARVAE_MOLECULES,
    },
    ("tiny", "molecules"): {
        "epochs": 2,
        "batch_size": 100,
        "width": 1.0,
        "max_rows": 500,
        "train_limit": None,
        "valid_limit": None,
        **_GRAMMARVAE_MOLECULES,
    },
}
