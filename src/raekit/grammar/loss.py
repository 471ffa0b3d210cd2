"""Sequence reconstruction loss for character and grammar models."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _allowed(logits: torch.Tensor, target: torch.Tensor, masks) -> torch.Tensor:
    """Logits with everything outside the target's left-hand side set to -inf (target kept)."""
    allowed = torch.as_tensor(masks, device=logits.device, dtype=torch.bool)[target]
    allowed = allowed | F.one_hot(target, logits.shape[-1]).bool()
    return logits.masked_fill(~allowed, float("-inf"))


KERAS_EPS = 1e-7  # Keras clips probabilities to [eps, 1 - eps] in its cross-entropies


def grammarvae_bce(
    logits: torch.Tensor,
    target_onehot: torch.Tensor,
    masks: torch.Tensor | None = None,
    eps: float = KERAS_EPS,
) -> torch.Tensor:
    """GrammarVAE's reconstruction term per sequence: L * mean binary cross-entropy.

    Probabilities p are the (masked, as in `masked_sequence_nll`) softmax over symbols, clipped to
    [eps, 1 - eps] as Keras does; each of the S symbols of each of the L steps contributes
    -(t log p + (1 - t) log(1 - p)) for its one-hot target t, averaged over symbols and summed
    over steps: Keras's `max_length * binary_crossentropy` of the flattened tensors, per
    sequence. Returns (N,).
    """
    target = target_onehot.argmax(-1)
    if masks is not None:
        logits = _allowed(logits, target, masks)
    p = F.softmax(logits, dim=-1).clamp(eps, 1 - eps)
    t = target_onehot.to(p.dtype)
    bce = -(t * p.log() + (1 - t) * (1 - p).log())
    return bce.mean(-1).sum(-1)


def masked_sequence_nll(
    logits: torch.Tensor, target_onehot: torch.Tensor, masks: torch.Tensor | None = None
) -> torch.Tensor:
    """Per-sequence sum over positions of the categorical NLL of the target symbol.

    logits, target_onehot: (N, L, S). masks: optional (S, S) bool, row p = the symbols allowed
    where the target is p (a grammar's `production_masks`: the productions of p's left-hand side,
    as GrammarVAE's training uses the true sequence). Masked-out logits get log(0) = -inf before
    the log-softmax, so the softmax runs over the allowed productions only. Returns (N,).
    """
    target = target_onehot.argmax(-1)
    if masks is not None:  # the target always stays allowed, so the loss is finite for any mask
        logits = _allowed(logits, target, masks)
    log_probs = F.log_softmax(logits, dim=-1)
    return -log_probs.gather(-1, target.unsqueeze(-1)).squeeze(-1).sum(-1)


def symbol_hits(
    logits: torch.Tensor, target: torch.Tensor, masks: torch.Tensor | None = None
) -> torch.Tensor:
    """Where the decoder's most likely symbol is the target's, each step judged on its own:
    (N, L) bool. logits (N, L, S), target (N, L) indices; with ``masks`` the choice runs over
    the target's left-hand side only, as masked greedy decoding chooses while it follows the
    target's derivation (so a sequence is decoded exactly when every counted step is a hit)."""
    if masks is not None:
        logits = _allowed(logits, target, masks)
    return logits.argmax(-1) == target
