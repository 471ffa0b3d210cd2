"""The paper's reported numbers (Tables 1 and 2), shown beside raekit's for the paper preset."""

from __future__ import annotations

# Table 1, FID: (reconstruction, N samples, GMM samples, interpolation); None where not reported.
TABLE1 = {
    "mnist": {
        "vae": (18.26, 19.21, 17.66, 18.21),
        "cv-vae": (15.15, 33.79, 17.87, 25.12),
        "wae": (10.03, 20.42, 9.39, 14.34),
        "2svae": (20.31, 18.81, None, 18.35),
        "rae-gp": (14.04, 22.21, 11.54, 15.32),
        "rae-l2": (10.53, 22.22, 8.69, 14.54),
        "rae-sn": (15.65, 19.67, 11.74, 15.15),
        "rae": (11.67, 23.92, 9.81, 14.67),
        "ae": (12.95, 58.73, 10.66, 17.12),
    },
    "cifar10": {
        "vae": (57.94, 106.37, 103.78, 88.62),
        "cv-vae": (37.74, 94.75, 86.64, 69.71),
        "wae": (35.97, 117.44, 93.53, 76.89),
        "2svae": (62.54, 109.77, None, 89.06),
        "rae-gp": (32.17, 83.05, 76.33, 64.08),
        "rae-l2": (32.24, 80.80, 74.16, 62.54),
        "rae-sn": (27.61, 84.25, 75.30, 63.62),
        "rae": (29.05, 83.87, 76.28, 63.27),
        "ae": (30.52, 84.74, 76.47, 61.57),
    },
    "celeba": {
        "vae": (39.12, 48.12, 45.52, 44.49),
        "cv-vae": (40.41, 48.87, 49.30, 44.96),
        "wae": (34.81, 53.67, 42.73, 40.93),
        "2svae": (42.04, 49.70, None, 47.54),
        "rae-gp": (39.71, 116.30, 45.63, 47.00),
        "rae-l2": (43.52, 51.13, 47.97, 45.98),
        "rae-sn": (36.01, 44.74, 40.95, 39.53),
        "rae": (40.18, 48.20, 44.68, 43.67),
        "ae": (40.79, 127.85, 45.10, 50.94),
    },
}

# Table 2, PRD for N and GMM samples, each pair in the order the paper prints it. The paper heads
# the table "precision / recall", but the official code that computes these numbers
# (precision_recall_distributions/prd_from_image_folders.py) calls prd_to_max_f_beta_pair(precision,
# recall, beta=8) and prints max F_8 first, then max F_1/8: so each pair is (F_8, F_1/8), and by
# Sajjadi et al. (2018) F_8 summarises recall and F_1/8 precision.
TABLE2 = {
    "mnist": {
        "vae": ((0.96, 0.92), (0.95, 0.96)),
        "cv-vae": ((0.84, 0.73), (0.96, 0.89)),
        "wae": ((0.93, 0.88), (0.98, 0.95)),
        "rae-gp": ((0.93, 0.87), (0.97, 0.98)),
        "rae-l2": ((0.92, 0.87), (0.98, 0.98)),
        "rae-sn": ((0.89, 0.95), (0.98, 0.97)),
        "rae": ((0.92, 0.85), (0.98, 0.98)),
        "ae": ((0.90, 0.90), (0.98, 0.97)),
    },
    "cifar10": {
        "vae": ((0.25, 0.55), (0.37, 0.56)),
        "cv-vae": ((0.31, 0.64), (0.42, 0.68)),
        "wae": ((0.38, 0.68), (0.51, 0.81)),
        "rae-gp": ((0.36, 0.70), (0.46, 0.77)),
        "rae-l2": ((0.41, 0.77), (0.57, 0.81)),
        "rae-sn": ((0.36, 0.73), (0.52, 0.81)),
        "rae": ((0.45, 0.73), (0.53, 0.80)),
        "ae": ((0.37, 0.73), (0.50, 0.80)),
    },
    "celeba": {
        "vae": ((0.54, 0.66), (0.50, 0.66)),
        "cv-vae": ((0.25, 0.43), (0.32, 0.55)),
        "wae": ((0.59, 0.68), (0.69, 0.77)),
        "rae-gp": ((0.38, 0.55), (0.44, 0.67)),
        "rae-l2": ((0.36, 0.64), (0.44, 0.65)),
        "rae-sn": ((0.54, 0.68), (0.55, 0.74)),
        "rae": ((0.46, 0.59), (0.52, 0.69)),
        "ae": ((0.45, 0.66), (0.47, 0.71)),
    },
}

TABLE1_MODELS = ("vae", "cv-vae", "wae", "2svae", "rae-gp", "rae-l2", "rae-sn", "rae", "ae")

# Cells that are another model's: the 2sVAE's first stage is the VAE of the same seed, so its
# reconstructions, GMM samples and interpolations are the VAE's (its reconstructions are its own
# where they pass through the second stage: the official preset's `rec_second_stage`).
FIRST_STAGE_COLUMNS = {"2svae": ("REC", "GMM", "Interp")}


def first_stage_columns(model: str, runs_of_model: dict | None = None) -> tuple[str, ...]:
    """The columns of `model` that are its first stage's, given its runs (results.json entries)."""
    columns = FIRST_STAGE_COLUMNS.get(model, ())
    entries = list((runs_of_model or {}).values())
    if entries and all((e.get("protocol") or {}).get("rec_second_stage") for e in entries):
        columns = tuple(c for c in columns if c != "REC")
    return columns
