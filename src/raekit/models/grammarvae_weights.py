"""GrammarVAE's own trained expression grammar VAE in raekit: its Keras 1 HDF5 weights
(`pretrained/eq_vae_grammar_h100_c234_L25_E50_batchB.hdf5` in its repository) loaded into
raekit's GVAE, with the decoder's GRU computing as Keras 1's does (`raekit.nets.keras_gru`).

Layer by layer: Keras's Conv1D kernels (k, 1, in, out) become torch's (out, in, k); its Flatten
runs over (positions, channels) where torch's runs over (channels, positions), so the first
dense layer's inputs are permuted; its batch norm stores the running variance under the name
`running_std`; Dense matrices are (in, out). The encoder's z_log_var head is loaded into the
log-sigma half, halved, so that raekit's bounded log-variance 10 tanh(raw / 10 * 2 / 2) equals
Keras's linear one wherever |log-variance| is well below 10 (it only matters for sampling).
Needs h5py (`pip install h5py`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from raekit.errors import RaekitError
from raekit.models.build import build_model
from raekit.nets.keras_gru import GATES, KerasGRU


def _weights(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """layer -> {short weight name (W, b, gamma, W_z, ...): array} from a Keras 1 HDF5 file."""
    try:
        # an optional package (GrammarVAE's .h5 weights)
        import h5py
    except ImportError:
        raise RaekitError("reading Keras weights needs h5py: pip install h5py") from None
    try:
        with h5py.File(path, "r") as f:
            layers = f["model_weights"]
            out = {}
            for layer in layers:
                group = layers[layer]
                names = [n.decode() for n in group.attrs.get("weight_names", [])]
                out[layer] = {_short(layer, n): np.asarray(group[n]) for n in names}
            return out
    except (OSError, KeyError) as exc:
        raise RaekitError(f"{path} is not a Keras 1 weights file: {exc}") from None


_KEYS = sorted(
    ["running_mean", "running_std", "gamma", "beta", "W", "b"]
    + [f"{m}_{g}" for g in GATES for m in ("W", "U", "b")],
    key=len,
    reverse=True,
)


def _short(layer: str, name: str) -> str:
    """'gru_1_W_z_1:0' -> 'W_z'; 'batch_4_running_std_1:0' -> 'running_std'; 'dense_2_W:0' -> 'W'."""
    stem = re.sub(r"_\d+$", "", name.split(":")[0])
    for key in _KEYS:
        if stem.endswith(f"_{key}"):
            return key
    raise RaekitError(f"unexpected Keras weight {name!r} in layer {layer!r}")


def _set(parameter: torch.Tensor, value: np.ndarray) -> None:
    if tuple(parameter.shape) != value.shape:
        raise RaekitError(f"weight of shape {value.shape} does not fit {tuple(parameter.shape)}")
    with torch.no_grad():
        parameter.copy_(torch.as_tensor(value, dtype=parameter.dtype))


def _batch_norm(module, w: dict[str, np.ndarray]) -> None:
    _set(module.weight, w["gamma"])
    _set(module.bias, w["beta"])
    _set(module.running_mean, w["running_mean"])
    _set(module.running_var, w["running_std"])  # Keras 1 keeps the variance under this name


def _dense(module, w: dict[str, np.ndarray]) -> None:
    _set(module.weight, w["W"].T)
    _set(module.bias, w["b"])


def _encoder(encoder, w: dict[str, dict[str, np.ndarray]]) -> None:
    convs = [m for m in encoder.convs if isinstance(m, torch.nn.Conv1d)]
    norms = [m for m in encoder.convs if isinstance(m, torch.nn.BatchNorm1d)]
    for i, (conv, norm) in enumerate(zip(convs, norms), start=1):
        _set(conv.weight, w[f"conv_{i}"]["W"][:, 0].transpose(2, 1, 0))
        _set(conv.bias, w[f"conv_{i}"]["b"])
        _batch_norm(norm, w[f"batch_{i}"])
    dense = w["dense_1"]["W"]  # rows: position * channels + channel
    channels = convs[-1].out_channels
    positions = dense.shape[0] // channels
    reorder = np.arange(dense.shape[0]).reshape(positions, channels).T.reshape(-1)
    _set(encoder.dense[1].weight, dense[reorder].T)
    _set(encoder.dense[1].bias, w["dense_1"]["b"])
    heads = np.concatenate([w["z_mean"]["W"], 0.5 * w["z_log_var"]["W"]], axis=1)
    _set(encoder.out.weight, heads.T)
    _set(encoder.out.bias, np.concatenate([w["z_mean"]["b"], 0.5 * w["z_log_var"]["b"]]))


def _decoder(decoder, w: dict[str, dict[str, np.ndarray]]) -> None:
    _batch_norm(decoder.dense[0], w["batch_4"])
    _dense(decoder.dense[1], w["latent_input"])
    first = w["gru_1"]["W_z"]
    decoder.gru = KerasGRU(
        first.shape[0],
        first.shape[1],
        len(decoder.gru.layers) if isinstance(decoder.gru, KerasGRU) else decoder.gru.num_layers,
    )
    for i, layer in enumerate(decoder.gru.layers, start=1):
        for g in GATES:
            _set(layer.W[g], w[f"gru_{i}"][f"W_{g}"])
            _set(layer.U[g], w[f"gru_{i}"][f"U_{g}"])
            _set(layer.b[g], w[f"gru_{i}"][f"b_{g}"])
    _dense(decoder.out, w["decoded_mean"])


def grammarvae_expression_model(path: str | Path):
    """raekit's expression GVAE (`paper` preset, GrammarVAE's layout: latent 25, GRU 100) with
    GrammarVAE's trained weights from ``path``, in evaluation mode."""
    path = Path(path)
    if not path.is_file():
        raise RaekitError(f"{path} does not exist")
    weights = _weights(path)
    model = build_model("gvae", "expressions", "paper")
    _encoder(model.encoder.encoder, weights)
    _decoder(model.decoder, weights)
    return model.eval()
