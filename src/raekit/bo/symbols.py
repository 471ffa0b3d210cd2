"""Per-step reconstruction measures of a sequence model, finer than exact reconstruction: the
share of steps whose most likely symbol is the target's (per-symbol accuracy) and the share of
each item decoded right before its first miss (correct prefix). Steps are every derivation
step for grammar models (the padding rule after the derivation not counted) and every
character position for the character model (trailing padding included: a wrong character
there changes the string)."""

from __future__ import annotations

import numpy as np
import torch

from raekit.grammar.cfg import get_grammar
from raekit.grammar.loss import symbol_hits
from raekit.grammar.task import uses_grammar


def step_measures(hits: np.ndarray, counted: np.ndarray) -> dict[str, float]:
    """Per-symbol accuracy and mean correct prefix from (N, L) hits over the (N, L) counted
    steps (counted steps come first in each row)."""
    hits, counted = np.asarray(hits, bool), np.asarray(counted, bool)
    lengths = counted.sum(1)
    misses = ~hits & counted
    first_miss = np.where(misses.any(1), misses.argmax(1), lengths)
    return {
        "symbol_accuracy": float(hits[counted].mean()) if counted.any() else float("nan"),
        "correct_prefix": float(np.mean(first_miss / np.maximum(lengths, 1))),
    }


@torch.no_grad()
def symbol_measures(model, indices: np.ndarray, codes: np.ndarray) -> dict[str, float]:
    """`step_measures` of the decodings of ``codes`` against the items ``indices`` (N, L)."""
    model.eval()
    device = next(model.parameters()).device
    logits = model.decode(torch.as_tensor(np.asarray(codes), dtype=torch.float32, device=device))
    target = torch.as_tensor(np.asarray(indices), dtype=torch.long, device=device)
    target = target[:, : logits.shape[1]]
    masks, counted = None, torch.ones_like(target, dtype=torch.bool)
    if uses_grammar(model.config.model):
        grammar = get_grammar(model.config.dataset)
        masks = torch.as_tensor(grammar.production_masks)
        counted = target != grammar.padding
    hits = symbol_hits(logits, target, masks)
    return step_measures(hits.cpu().numpy(), counted.cpu().numpy())
