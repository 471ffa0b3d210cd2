"""Where the official RAE code departs from the paper's text, as data: the `official` preset's rows.

`paper` follows the paper (Appendix C nets, Adam 1e-3, batch 100, 100 / 70 epochs, Table 1's
caption); `official` is `paper` plus the rows below, each naming the file of the official code
(GitHub ParthaEth/Regularized_autoencoders-RAE-) it was read from. Rows are keyed by dataset family
(MNIST-like datasets share MNIST's) and by the model's official family, `Variant.weight_rule`:
"rae" (models/rae/), "std_vae" (models/std_vae/: VAE, CV-VAE, 2-stage VAE), "wae" (models/wae_mmd/).
This module imports nothing from raekit, so config.py can read it.
"""

from __future__ import annotations

from typing import Any

# Every dataset and model.
COMMON: dict[str, Any] = {
    # models/rae/rae_mnist.py, rae_celeba.py (Keras layer defaults): biases on every layer, decoder
    # Dense straight into the reshape, TF 'same' transposed convs, Glorot init, BN momentum 0.99 / eps 1e-3.
    "net": "official",
    # configurations/config.py: spec_norm_on_dec_only False, so rae_*.py normalise every layer.
    "sn_all_layers": True,
    # my_utility/estimate_density_and_sample.py: GaussianMixture(max_iter=2000, tol=1e-3).
    "gmm_max_iter": 2000,
    # my_utility/estimate_density_and_sample.py, VaeModelWrapper: Dense 1024 x 2 MLPs; fit(batch_size=64,
    # epochs=100, validation_split=0.1) with ReduceLROnPlateau(factor 0.5, patience 3); Adam 1e-4
    # (models/std_vae/get_vae_given_enc_dec.py); sample() returns the decoder's output (its mean).
    "two_stage_hidden": 1024,
    "two_stage_layers": 2,
    "two_stage_epochs": 100,
    "two_stage_batch": 64,
    "two_stage_lr": 1e-4,
    "two_stage_schedule": "plateau",
    "two_stage_sample_noise": False,
    # interpolation_fid_and_viz.py: reconstructions of validation images, slerp midpoints of
    # validation codes.
    "eval_images": "valid",
    # interpolation_fid_and_viz.py reconstructs with auto_encoder.predict, which keeps the sampling
    # layer of models/std_vae/get_vae_given_enc_dec.py; the 2-stage VAE's goes through
    # predict_2stage (first encoder -> second-stage VAE -> first decoder).
    "rec_sampled": True,
    "rec_second_stage": True,
}

BY_DATASET: dict[str, dict[str, Any]] = {
    # models/rae/rae_mnist.py (CIFAR-10 too: models/rae/make_raes.py builds "CIFAR" with it):
    # Lambda(x * 2 - 1) on the encoder input; kernel_regularizer only on the Conv2DTranspose layers.
    "mnist": {"scale_input": True, "l2_layers": "transposed"},
    "cifar10": {"scale_input": True, "l2_layers": "transposed"},
    # models/rae/rae_celeba.py: no input scaling; the decoder Dense is regularised too.
    # configurations/config.py: 70 epochs.
    "celeba": {"scale_input": False, "l2_layers": "all", "epochs": 70},
}

# Adam's learning rate: models/rae/rae_mnist.py 5e-4, rae_celeba.py 1e-3;
# models/std_vae/get_vae_given_enc_dec.py 1e-4; models/wae_mmd/get_wae_given_enc_dec.py 1e-3.
LEARNING_RATES: dict[str, dict[str, float]] = {
    "rae": {"mnist": 5e-4, "cifar10": 5e-4, "celeba": 1e-3},
    "std_vae": {"mnist": 1e-4, "cifar10": 1e-4, "celeba": 1e-4},
    "wae": {"mnist": 1e-3, "cifar10": 1e-3, "celeba": 1e-3},
}

# configurations/config.py entries that differ from their dataset's defaults, and the WAE's noise.
BY_MODEL: dict[tuple[str, str], dict[str, Any]] = {
    ("cifar10", "wae"): {"epochs": 70},  # config 8
    ("cifar10", "cv-vae"): {"epochs": 70},  # config 10
    ("cifar10", "rae-gp"): {"epochs": 70},  # config 11
    ("celeba", "vae"): {"batch_size": 1000},  # config 17
    ("celeba", "2svae"): {"batch_size": 1000},  # config 28
    ("celeba", "cv-vae"): {
        "filters": 64,
        "gmm_components": 1,
    },  # config 18: num_filters 64, n_components 1
    # models/wae_mmd/get_wae_given_enc_dec.py: CelebA inputs + clip(N(0, 0.01^2), -0.01, 0.01).
    ("celeba", "wae"): {"input_noise": 0.01},
}


def official_rows(family: str, model: str, rule: str) -> dict[str, Any]:
    """The official preset's values for a dataset family, a model and its official family."""
    return {
        **COMMON,
        **BY_DATASET[family],
        "lr": LEARNING_RATES[rule][family],
        **BY_MODEL.get((family, model), {}),
    }
