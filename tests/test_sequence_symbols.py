"""Per-symbol accuracy and correct prefix: by hand, and an item has every counted step right
exactly when masked greedy decoding gives its derivation back."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from raekit.bo.symbols import step_measures
from raekit.grammar.cfg import get_grammar
from raekit.grammar.decode import decode_grammar
from raekit.grammar.encode import encode_productions
from raekit.grammar.loss import symbol_hits


def test_step_measures_by_hand():
    hits = np.array([[1, 1, 0, 1, 1], [1, 1, 1, 0, 0], [0, 1, 1, 1, 1]], bool)
    counted = np.array([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    got = step_measures(hits, counted)
    assert got["symbol_accuracy"] == (3 + 3 + 4) / (4 + 3 + 5)
    assert got["correct_prefix"] == np.mean([2 / 4, 3 / 3, 0 / 5])


def test_masks_judge_a_step_among_its_left_hand_side_only():
    masks = torch.tensor([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.bool)
    logits = torch.tensor([[[0.0, 1.0, 5.0], [0.0, 1.0, 5.0]]])  # symbol 2 is most likely
    target = torch.tensor([[1, 0]])  # both steps' left-hand side allows symbols 0 and 1 only
    assert symbol_hits(logits, target).tolist() == [[False, False]]
    assert symbol_hits(logits, target, masks).tolist() == [[True, False]]


def test_every_counted_step_right_iff_greedy_decoding_is_exact():
    grammar = get_grammar("expressions")
    strings = ["x", "sin(x)", "x+1", "x*exp(2)", "3/(x+1)", "sin(x)*x", "exp(x)+2*x"] * 6
    target = torch.as_tensor(encode_productions(strings, grammar).indices, dtype=torch.long)
    onehot = F.one_hot(target, len(grammar)).float()
    logits = 4 * onehot + torch.randn(onehot.shape, generator=torch.Generator().manual_seed(0))
    masks = torch.as_tensor(grammar.production_masks)
    hits = symbol_hits(logits, target, masks)
    counted = target != grammar.padding
    all_right = (hits | ~counted).all(1)
    decoded = decode_grammar(logits, grammar).productions
    exact = (decoded == target).all(1)
    assert 0 < int(exact.sum()) < len(strings)  # the noise spoils some items, not all
    assert torch.equal(all_right, exact)
    got = step_measures(hits.numpy(), counted.numpy())
    assert got["correct_prefix"] < 1 and 0 < got["symbol_accuracy"] < 1
