"""Cross-check against GrammarVAE itself: its trained expression grammar VAE (Keras 1 weights from
its repository) loaded into raekit's GVAE computes what GrammarVAE's Keras model computes, and
reconstructs GrammarVAE's expressions as GrammarVAE's own decoding does.

The reference below is an independent numpy transcription of GrammarVAE's `models/model_eq.py`
under Keras 1.2.1 (valid Conv1D + ReLU + batch norm, time-major Flatten, hard-sigmoid GRUs with
the reset gate applied before the recurrent product) and of its masked Gumbel sampling
(`molecule_vae.ZincGrammarModel._sample_using_masks`), reading the HDF5 file with h5py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
WEIGHTS = DATA / "grammarvae-pretrained" / "eq_vae_grammar_h100_c234_L25_E50_batchB.hdf5"
EXPRESSIONS = DATA / "equation2_15_dataset.txt"

if not (WEIGHTS.is_file() and EXPRESSIONS.is_file()):
    pytest.skip(
        f"GrammarVAE's pretrained weights and expressions are not at {DATA}",
        allow_module_level=True,
    )
h5py = pytest.importorskip("h5py", reason="h5py (the test extra) reads Keras weights")
pytestmark = pytest.mark.slow

# GrammarVAE's eq_grammar: (left-hand side, right-hand side) in its production order.
RULES = [
    ("S", ["S", "+", "T"]), ("S", ["S", "*", "T"]), ("S", ["S", "/", "T"]), ("S", ["T"]),
    ("T", ["(", "S", ")"]), ("T", ["sin(", "S", ")"]), ("T", ["exp(", "S", ")"]),
    ("T", ["x"]), ("T", ["1"]), ("T", ["2"]), ("T", ["3"]), ("Nothing", []),
]  # fmt: skip
NONTERMINALS = ("S", "T", "Nothing")


def _keras_weights() -> dict:
    out = {}
    with h5py.File(WEIGHTS, "r") as f:
        for layer, group in f["model_weights"].items():
            for name in group.attrs.get("weight_names", []):
                out[(layer, name.decode().split(":")[0])] = np.asarray(group[name], np.float64)
    return out


def _w(weights, layer, suffix):
    (value,) = [v for (lay, name), v in weights.items() if lay == layer and suffix in name]
    return value


def _batch_norm(weights, layer, h):
    mean, var = _w(weights, layer, "running_mean"), _w(weights, layer, "running_std")
    gamma, beta = _w(weights, layer, "gamma"), _w(weights, layer, "beta")
    return (h - mean) / np.sqrt(var + 1e-3) * gamma + beta


def keras_z_mean(weights, onehot: np.ndarray) -> np.ndarray:
    h = onehot
    for i in (1, 2, 3):
        kernel, bias = _w(weights, f"conv_{i}", "_W"), _w(weights, f"conv_{i}", "_b")
        k = kernel.shape[0]
        steps = h.shape[1] - k + 1
        conv = sum(h[:, j : j + steps] @ kernel[j, 0] for j in range(k)) + bias
        h = _batch_norm(weights, f"batch_{i}", np.maximum(conv, 0))
    h = h.reshape(len(h), -1)  # Keras's Flatten: position-major
    h = np.maximum(h @ _w(weights, "dense_1", "_W") + _w(weights, "dense_1", "_b"), 0)
    return h @ _w(weights, "z_mean", "_W") + _w(weights, "z_mean", "_b")


def _hard_sigmoid(x):
    return np.clip(0.2 * x + 0.5, 0, 1)


def keras_logits(weights, z: np.ndarray, steps: int = 15) -> np.ndarray:
    h = _batch_norm(weights, "batch_4", z)
    h = np.maximum(h @ _w(weights, "latent_input", "_W") + _w(weights, "latent_input", "_b"), 0)
    x = np.repeat(h[:, None], steps, axis=1)
    for i in (1, 2, 3):
        g = {k: _w(weights, f"gru_{i}", f"_{k}_") for k in ("W_z", "U_z", "b_z", "W_r", "U_r")}
        g.update({k: _w(weights, f"gru_{i}", f"_{k}_") for k in ("b_r", "W_h", "U_h", "b_h")})
        state, out = np.zeros((len(x), g["U_z"].shape[0])), []
        for t in range(steps):
            zt = _hard_sigmoid(x[:, t] @ g["W_z"] + g["b_z"] + state @ g["U_z"])
            rt = _hard_sigmoid(x[:, t] @ g["W_r"] + g["b_r"] + state @ g["U_r"])
            cand = np.tanh(x[:, t] @ g["W_h"] + g["b_h"] + (rt * state) @ g["U_h"])
            state = zt * state + (1 - zt) * cand
            out.append(state)
        x = np.stack(out, axis=1)
    return x @ _w(weights, "decoded_mean", "dense_2_W") + _w(weights, "decoded_mean", "dense_2_b")


def grammarvae_decode(logits: np.ndarray, rng: np.random.Generator | None) -> list[str]:
    """GrammarVAE's masked decoding: pop the stack's non-terminal, mask to its rules, choose by
    Gumbel-max (argmax when ``rng`` is None), push the rule's non-terminals in reverse."""
    masks = np.array([[lhs == nt for lhs, _ in RULES] for nt in NONTERMINALS], dtype=float)
    out = []
    for seq in logits:
        stack, chosen = ["S"], []
        for t in range(len(seq)):
            top = stack.pop() if stack else "Nothing"
            masked = np.exp(seq[t]) * masks[NONTERMINALS.index(top)] + 1e-100
            noise = rng.gumbel(size=masked.shape) if rng is not None else 0.0
            rule = int(np.argmax(np.log(masked) + noise))
            chosen.append(rule)
            stack += [s for s in RULES[rule][1] if s in NONTERMINALS][::-1]
        out.append(_derive(chosen))
    return out


def _derive(rules: list[int]) -> str:
    """The string of a leftmost derivation ('' when it does not complete, as GrammarVAE's)."""
    seq = ["S"]
    for rule in rules:
        lhs, rhs = RULES[rule]
        if lhs == "Nothing":
            break
        i = seq.index(lhs) if lhs in seq else None
        if i is None:
            return ""
        seq = seq[:i] + rhs + seq[i + 1 :]
    return "" if any(s in NONTERMINALS for s in seq) else "".join(seq)


@pytest.fixture(scope="module")
def setting():
    from raekit.grammar.cfg import EXPRESSION_GRAMMAR
    from raekit.grammar.encode import encode_productions
    from raekit.grammar.expression_file import read_expressions
    from raekit.models.grammarvae_weights import grammarvae_expression_model

    expressions = read_expressions(EXPRESSIONS)
    # Keras's validation_split held out the last 10% of GrammarVAE's training array
    tail = np.arange(len(expressions) - len(expressions) // 10, len(expressions))
    held = [expressions[i] for i in np.random.default_rng(0).choice(tail, 200, replace=False)]
    encoded = encode_productions(held, EXPRESSION_GRAMMAR, progress=False)
    model = grammarvae_expression_model(WEIGHTS)
    return model, _keras_weights(), [held[i] for i in encoded.rows], encoded.indices


def test_raekit_computes_what_grammarvaes_keras_model_computes(setting):
    model, weights, _, indices = setting
    onehot = np.eye(12)[indices]
    with torch.no_grad():
        mu, _ = model.posterior(torch.as_tensor(indices))
        logits = model.decode(mu).double().numpy()
    reference_mu = keras_z_mean(weights, onehot)
    np.testing.assert_allclose(mu.double().numpy(), reference_mu, atol=2e-4, rtol=1e-4)
    np.testing.assert_allclose(logits, keras_logits(weights, reference_mu), atol=2e-3, rtol=1e-3)


def test_raekit_reconstructs_grammarvaes_expressions_as_grammarvae_does(setting):
    from raekit.grammar.task import decode_draws, decode_strings

    model, weights, truth, indices = setting
    with torch.no_grad():
        mu = model.posterior(torch.as_tensor(indices))[0].numpy()
    reference_logits = keras_logits(weights, keras_z_mean(weights, np.eye(12)[indices]))
    # greedy: the same strings
    greedy = decode_strings(model, mu)
    assert greedy == grammarvae_decode(reference_logits, None)
    # sampled: the same accuracy within 1 point (20 decodings of each of 200 held-out items)
    rng = np.random.default_rng(1)
    ours = np.mean([[d == t for d in ds] for ds, t in zip(decode_draws(model, mu, 20), truth)])
    theirs = np.mean(
        [
            [a == t for a, t in zip(grammarvae_decode(reference_logits, rng), truth)]
            for _ in range(20)
        ]
    )
    assert abs(ours - theirs) <= 0.01
    assert theirs > 0.9  # a trained model: the weights were read the right way round
