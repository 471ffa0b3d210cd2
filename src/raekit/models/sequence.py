"""Sequence models' parts: the one-hot front of the encoder, the reconstruction term, padding
trimming, and `sequence_parts`, which assembles them for a task and a recipe."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from raekit.errors import unknown
from raekit.grammar.cfg import Grammar, get_grammar
from raekit.grammar.loss import KERAS_EPS, grammarvae_bce, masked_sequence_nll
from raekit.grammar.sequence_task import sequence_task
from raekit.grammar.task import max_length, num_symbols, uses_grammar
from raekit.nets.sequence import sequence_nets


class OneHot(nn.Module):
    """Integer sequences (N, L) -> one-hot (N, L, S) in front of the sequence encoder."""

    def __init__(self, num_symbols: int, encoder: nn.Module):
        super().__init__()
        self.num_symbols, self.encoder = num_symbols, encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(F.one_hot(x.long(), self.num_symbols).float())


class SequenceNLL:
    """Reconstruction term, batch mean of a per-sequence loss (grammar models: masked to the
    target's left-hand side, as GrammarVAE trains). ``form="bce"``: GrammarVAE's L * mean binary
    cross-entropy; ``"nll"``: the categorical NLL summed over steps."""

    def __init__(self, grammar: Grammar | None, form: str = "nll"):
        self.masks = None if grammar is None else torch.as_tensor(grammar.production_masks)
        self.form = form

    def __call__(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        steps = logits.shape[1]  # fewer than the target's when trimmed (`PaddingTrim`)
        onehot = F.one_hot(target[:, :steps].long(), logits.shape[-1]).to(logits.dtype)
        term = grammarvae_bce if self.form == "bce" else masked_sequence_nll
        loss = term(logits, onehot, self.masks).mean()
        if self.form == "bce" and steps < target.shape[1]:
            # Each trimmed padding step costs -log(1 - eps) (in the logits' precision), gradient 0.
            per_step = -torch.log(torch.tensor(1 - KERAS_EPS, dtype=logits.dtype)).item()
            loss = loss + (target.shape[1] - steps) * per_step
        return loss


class PaddingTrim:
    """Steps a grammar model's decoder must produce for a batch: up to its longest derivation.
    Past it every target is the padding rule, the only production its mask allows, so the
    masked loss there is constant and has no gradient; the GRU is causal, so the steps before
    are unchanged. Molecules: ~277 steps become the batch's longest (~100), training ~2.5x
    faster."""

    def __init__(self, padding: int):
        self.padding = padding

    def __call__(self, target: torch.Tensor) -> int:
        return max(1, int((target != self.padding).sum(1).max()))


RECIPES = ("grammarvae", "raekit")


def sequence_parts(config, encoder_outputs: int):
    """(encoder, decoder, Autoencoder options) of a sequence model for its task and preset.

    ``config.sequence_recipe="grammarvae"``: as GrammarVAE trains (batch norm in the expression
    nets, L * mean BCE reconstruction, VAE noise with std 0.01, KL averaged over latent
    dimensions); ``"raekit"``: no batch norm, summed NLL, unit noise, summed KL.
    """

    task, model, recipe = config.dataset, config.model, config.sequence_recipe
    if recipe not in RECIPES:
        raise unknown("sequence recipe", recipe, RECIPES)
    grammarvae, spec = recipe == "grammarvae", sequence_task(task)
    net = task + ("-cpu" if spec.cpu_net and config.preset != "paper" else "")
    encoder, decoder = sequence_nets(
        net,
        num_symbols(task, model),
        max_length(task, model),
        encoder_outputs,
        batch_norm=grammarvae and spec.grammarvae_batch_norm,
    )
    grammar = get_grammar(task) if uses_grammar(model) else None
    options = {
        "reconstruction": SequenceNLL(grammar, "bce" if grammarvae else "nll"),
        "noise_std": 0.01 if grammarvae else 1.0,
        "kl_mean": grammarvae,
        "trim": PaddingTrim(grammar.padding) if grammar is not None else None,
    }
    return OneHot(num_symbols(task, model), encoder), decoder, options
