"""Sequence models trained as GrammarVAE trains them (and raekit's own recipe as an option)."""

import math

import numpy as np
import pytest
import torch

from raekit.config import make_config
from raekit.grammar.loss import grammarvae_bce
from raekit.models import build_from_config, losses
from raekit.nets.sequence import SequenceDecoder


def test_grammarvae_bce_by_hand():
    # 3 symbols, masks as in the NLL test: target 1 allows {0, 1}; target 2 allows only {2}.
    masks = torch.tensor([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.bool)
    logits = torch.tensor([[[1.0, 2.0, 5.0], [0.5, -1.0, 3.0]]])
    target = torch.nn.functional.one_hot(torch.tensor([[1, 2]]), 3).float()
    p0, p1 = math.exp(1) / (math.exp(1) + math.exp(2)), math.exp(2) / (math.exp(1) + math.exp(2))
    eps = 1e-7  # Keras clips probabilities to [eps, 1 - eps]
    step1 = (-math.log(1 - p0) - math.log(p1) - math.log(1 - eps)) / 3
    step2 = (-2 * math.log(1 - eps) - math.log(1 - eps)) / 3  # p = (0, 0, 1) clipped
    got = grammarvae_bce(logits, target, masks)
    assert got.shape == (1,) and got.item() == pytest.approx(step1 + step2, rel=1e-6)
    # Unmasked (character models): a plain softmax over all symbols.
    p = torch.softmax(logits[0], -1).numpy()
    t = target[0].numpy()
    by_hand = -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(-1).sum()
    assert grammarvae_bce(logits, target).item() == pytest.approx(by_hand, rel=1e-5)


def test_decoder_l2_covers_gru_weights():
    decoder = SequenceDecoder(4, 6, 5, hidden=8, gru_layers=2)
    with torch.no_grad():
        for p in decoder.parameters():
            p.fill_(3.0)
    # Linear 4x4 + Linear 8->6, GRU layer 1: 3*8 x 4 input + 3*8 x 8 recurrent, layer 2: 2 x 3*8 x 8.
    count = 16 + 48 + 24 * 4 + 24 * 8 + 2 * 24 * 8
    assert float(losses.decoder_weight_l2(decoder)) == pytest.approx(count * 9.0)
    gru = sum(p.numel() for n, p in decoder.gru.named_parameters() if n.startswith("weight_"))
    assert gru > 0.8 * count  # most of the decoder's weights are the GRU's


def _count_bn(module):
    return sum(isinstance(m, torch.nn.BatchNorm1d) for m in module.modules())


def test_grammarvae_recipe_nets_and_latent_terms():
    gvae = build_from_config(make_config("expressions", "gvae", "tiny"))
    assert _count_bn(gvae.encoder) == 3 and _count_bn(gvae.decoder) == 1  # after each conv; z
    bn = next(m for m in gvae.encoder.modules() if isinstance(m, torch.nn.BatchNorm1d))
    assert bn.eps == 1e-3 and bn.momentum == pytest.approx(0.01)  # Keras's defaults
    assert gvae.noise_std == 0.01 and gvae.kl_mean
    mol = build_from_config(make_config("molecules", "gvae", "tiny"))
    assert _count_bn(mol.encoder) == _count_bn(mol.decoder) == 0  # GrammarVAE's ZINC nets have none
    own = build_from_config(make_config("expressions", "gvae", "tiny", sequence_recipe="raekit"))
    assert _count_bn(own.encoder) == 0 and own.noise_std == 1.0 and not own.kl_mean
    # KL averaged over the 25 latent dimensions; noise of std 0.01 around the mean.
    mu, logvar = torch.randn(7, 25), torch.randn(7, 25)
    by_hand = (-0.5 * (1 + logvar - mu**2 - logvar.exp()).mean(1)).mean()
    assert gvae._latent_term(mu, mu, logvar).item() == pytest.approx(by_hand.item(), rel=1e-5)
    torch.manual_seed(0)
    z = gvae._sample(mu, torch.zeros_like(mu))
    assert 0.005 < float((z - mu).std()) < 0.02


def test_presets_follow_grammarvae_training_scripts():
    expr, mol = (
        make_config("expressions", "gvae", "paper"),
        make_config("molecules", "gvae", "paper"),
    )
    assert (
        expr.epochs,
        expr.batch_size,
        expr.lr,
        expr.lr_factor,
        expr.lr_patience,
        expr.min_lr,
    ) == (50, 600, 1e-3, 0.2, 1, 1e-4)
    assert (mol.epochs, mol.batch_size, mol.lr, mol.lr_factor, mol.lr_patience, mol.min_lr) == (
        100,
        500,
        1e-3,
        0.2,
        3,
        1e-4,
    )
    assert expr.sequence_recipe == mol.sequence_recipe == "grammarvae"
    assert make_config("mnist", "vae").min_lr == 0.0


@pytest.mark.parametrize("recipe", ["grammarvae", "raekit"])
def test_trimmed_decoding_gives_the_same_loss_and_gradients(recipe, monkeypatch):
    from raekit.grammar.cfg import ZINC_GRAMMAR
    from raekit.grammar.encode import encode_productions

    torch.manual_seed(0)
    model = build_from_config(make_config("molecules", "grae", "tiny", sequence_recipe=recipe))
    smiles = ["CCO", "c1ccccc1C(=O)O", "CC(C)Cc1ccc(C)cc1"]
    x = torch.as_tensor(
        encode_productions(smiles, ZINC_GRAMMAR, progress=False).indices.astype(np.int64)
    )
    longest = int((x != ZINC_GRAMMAR.padding).sum(1).max())
    assert model.trim(x) == longest < 277 / 5
    steps, real = [], model.decoder.forward
    monkeypatch.setattr(model.decoder, "forward", lambda z, n=None: steps.append(n) or real(z, n))
    results = []
    for trim in (model.trim, None):
        model.trim = trim
        model.zero_grad()
        loss = model.loss(x)["loss"]
        loss.backward()
        results.append((loss.item(), [p.grad.clone() for p in model.parameters()]))
    assert steps == [longest, None]
    (trimmed, g1), (full, g2) = results
    assert trimmed == pytest.approx(full, rel=1e-6)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
