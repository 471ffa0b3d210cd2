"""Sequence reconstruction loss for character and grammar models."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def masked_sequence_nll(logits: torch.Tensor, target_onehot: torch.Tensor,
                        masks: torch.Tensor | None = None) -> torch.Tensor:
    """Per-sequence sum over positions of the categorical NLL of the target symbol.

    logits, target_onehot: (N, L, S). masks: optional (S, S) bool, row p = the symbols allowed
    where the target is p (a grammar's `production_masks`: the productions of p's left-hand side,
    as GrammarVAE's training uses the true sequence). Masked-out logits get log(0) = -inf before
    the log-softmax, so the softmax runs over the allowed productions only. Returns (N,).
    """
    target = target_onehot.argmax(-1)
    if masks is not None:
        allowed = torch.as_tensor(masks, device=logits.device, dtype=torch.bool)[target]
        # The target itself always stays allowed, so the loss is finite for any mask.
        allowed = allowed | F.one_hot(target, logits.shape[-1]).bool()
        logits = logits.masked_fill(~allowed, float("-inf"))
    log_probs = F.log_softmax(logits, dim=-1)
    return -log_probs.gather(-1, target.unsqueeze(-1)).squeeze(-1).sum(-1)
