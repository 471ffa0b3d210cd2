import math

import numpy as np
import pytest
import torch

from raekit.errors import RaekitError
from raekit.grammar.cfg import EXPRESSION_GRAMMAR, ZINC_GRAMMAR
from raekit.grammar.encode import encode_productions, to_one_hot
from raekit.grammar.loss import masked_sequence_nll
from raekit.nets.sequence import SEQUENCE_NETS, SequenceDecoder, SequenceEncoder, sequence_nets


# Molecule nets run on 40 positions here (277 in use): the GRU's cost is per position.
@pytest.mark.parametrize(
    "preset, grammar, length",
    [("expressions", EXPRESSION_GRAMMAR, 15), ("molecules-cpu", ZINC_GRAMMAR, 40)],
)
def test_preset_shapes(preset, grammar, length):
    encoder, decoder = sequence_nets(preset, len(grammar), length)
    d = SEQUENCE_NETS[preset]["latent_dim"]
    x = to_one_hot(np.full((3, length), grammar.padding), len(grammar))
    z = encoder(x)
    assert z.shape == (3, d)
    assert decoder(z).shape == (3, length, len(grammar))
    assert sequence_nets(preset, len(grammar), length, 2 * d)[0](x).shape == (3, 2 * d)


def test_paper_sizes():
    encoder, decoder = sequence_nets("molecules", 76, 277)
    convs = [m for m in encoder.convs if isinstance(m, torch.nn.Conv1d)]
    assert [(c.out_channels, c.kernel_size[0]) for c in convs] == [(9, 9), (9, 9), (10, 11)]
    # 'valid' convolutions: 277 - 8 - 8 - 10 = 251 positions of 10 channels into Dense(435).
    assert encoder.dense[1].in_features == 2510 and encoder.dense[1].out_features == 435
    assert decoder.gru.hidden_size == 501 and decoder.gru.num_layers == 3
    assert SEQUENCE_NETS["expressions"]["latent_dim"] == 25


def test_bad_sizes():
    with pytest.raises(RaekitError, match="too short"):
        SequenceEncoder(12, 5, 4, kernels=(2, 3, 4))
    with pytest.raises(RaekitError, match="did you mean"):
        sequence_nets("molecule", 76, 277)


def test_decoder_repeats_one_vector():
    decoder = SequenceDecoder(4, 6, 5, hidden=8, gru_layers=3)
    z = torch.randn(2, 4)
    h = decoder.dense(z).unsqueeze(1).repeat(1, 5, 1)
    expected = decoder.out(decoder.gru(h)[0])
    torch.testing.assert_close(decoder(z), expected)


def test_masked_nll_two_steps_by_hand():
    # 3 symbols; where the target is 0 or 1 only {0, 1} are allowed; where it is 2, only {2}.
    masks = torch.tensor([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.bool)
    logits = torch.tensor([[[1.0, 2.0, 5.0], [0.5, -1.0, 3.0]]])
    target = torch.nn.functional.one_hot(torch.tensor([[1, 2]]), 3).float()
    step1 = -(2.0 - math.log(math.exp(1.0) + math.exp(2.0)))  # 5.0 is masked out
    step2 = 0.0  # a single allowed symbol has probability 1
    loss = masked_sequence_nll(logits, target, masks)
    assert loss.shape == (1,) and loss.item() == pytest.approx(step1 + step2)
    plain = -(2.0 - math.log(math.exp(1) + math.exp(2) + math.exp(5))) - (
        3.0 - math.log(math.exp(0.5) + math.exp(-1) + math.exp(3))
    )
    assert masked_sequence_nll(logits, target).item() == pytest.approx(plain)


def test_masked_nll_matches_cross_entropy_on_grammar_data():
    g = ZINC_GRAMMAR
    encoded = encode_productions(["CCO", "c1ccccc1"], g, progress=False)
    idx = torch.from_numpy(encoded.indices).long()
    logits = torch.randn(2, g.max_length, len(g), requires_grad=True)
    target = to_one_hot(idx, len(g))
    allowed = torch.from_numpy(g.production_masks)[idx]
    reference = torch.nn.functional.cross_entropy(
        logits.masked_fill(~allowed, -1e9).flatten(0, 1), idx.flatten(), reduction="none"
    )
    loss = masked_sequence_nll(logits, target, torch.from_numpy(g.production_masks))
    torch.testing.assert_close(loss, reference.view(2, -1).sum(1))
    loss.sum().backward()
    assert torch.isfinite(logits.grad).all()
    assert (logits.grad[~allowed] == 0).all()  # no gradient reaches masked-out productions
