"""Decoding network outputs into strings: masked stack decoding (grammar) and characters.

Grammar decoding keeps one stack of non-terminals per sequence, all as tensors: at each step
the top is popped (an empty stack pops `Nothing`), the logits are masked to that non-terminal's
productions, one is chosen (greedily or by sampling) and its right-hand non-terminals are pushed
in reverse, so the leftmost is expanded next. It never raises: NaN or -inf logits fall back to
the first allowed production, and a derivation still open after `max_length` steps decodes to ''.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from raekit.errors import RaekitError
from raekit.grammar.cfg import Grammar
from raekit.grammar.encode import productions_to_string
from raekit.grammar.tokens import CharVocab


@dataclass
class Decoded:
    """productions (N, L) long; strings ('' when invalid); complete (N,) bool."""

    productions: torch.Tensor
    strings: list[str]
    complete: torch.Tensor


def _tables(grammar: Grammar, device):
    nt = grammar.num_nonterminals
    rhs = torch.full((len(grammar), max(map(len, grammar.rhs_nonterminals))), -1, dtype=torch.long)
    for p, symbols in enumerate(grammar.rhs_nonterminals):
        rhs[p, : len(symbols)] = torch.tensor(symbols[::-1], dtype=torch.long)
    masks = torch.as_tensor(grammar.masks, dtype=torch.bool)
    nothing = grammar.nonterminals.index(grammar.productions[grammar.padding].lhs().symbol())
    assert nothing < nt
    return rhs.to(device), (rhs >= 0).sum(1).to(device), masks.to(device), nothing


def _choose(logits, allowed, sample: bool, temperature: float, generator):
    """One allowed index per row; any logits at all (NaN, +-inf) give an allowed choice."""
    neg_inf = torch.tensor(float("-inf"), device=logits.device)
    scores = torch.nan_to_num(logits.float(), nan=float("-inf")).masked_fill(~allowed, neg_inf)
    posinf = scores == float("inf")
    # +inf logits share all the probability; a row without any finite allowed logit is uniform.
    scores = torch.where(posinf.any(-1, keepdim=True), torch.where(posinf, 0.0, neg_inf), scores)
    dead = ~(scores > neg_inf).any(-1, keepdim=True)
    scores = torch.where(dead & allowed, 0.0, scores)
    if not sample:
        return scores.argmax(-1)
    scores = (scores - scores.max(-1, keepdim=True).values) / temperature
    return torch.multinomial(torch.softmax(scores, -1), 1, generator=generator).squeeze(-1)


@torch.no_grad()
def decode_grammar(
    logits: torch.Tensor,
    grammar: Grammar,
    *,
    sample: bool = False,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> Decoded:
    """Masked decoding of logits (N, L, num_productions); L steps at most."""
    if sample and not temperature > 0:
        raise RaekitError(f"sampling temperature must be positive, got {temperature}")
    n, steps, _ = logits.shape
    rhs, rhs_len, masks, nothing = _tables(grammar, logits.device)
    depth = 1 + steps * max(1, rhs.shape[1])  # room for every push: the stack never overflows
    stack = torch.full((n, depth), nothing, dtype=torch.long, device=logits.device)
    stack[:, 0] = grammar.start_index
    top = torch.ones(n, dtype=torch.long, device=logits.device)
    rows = torch.arange(n, device=logits.device)
    chosen = torch.empty((n, steps), dtype=torch.long, device=logits.device)
    for t in range(steps):
        empty = top == 0
        top = top - (~empty).long()
        symbol = torch.where(empty, torch.full_like(top, nothing), stack[rows, top.clamp(min=0)])
        choice = _choose(logits[:, t], masks[symbol], sample, temperature, generator)
        chosen[:, t] = choice
        pushed = rhs[choice]  # (N, max_rhs), reversed, -1 padded
        for j in range(pushed.shape[1]):
            keep = pushed[:, j] >= 0
            stack[rows[keep], top[keep] + j] = pushed[keep, j]
        top = top + rhs_len[choice]
    complete = top == 0
    strings = [
        productions_to_string(row, grammar) if ok else ""
        for row, ok in zip(chosen.cpu().numpy(), complete.cpu().tolist())
    ]
    return Decoded(chosen, strings, complete)


@torch.no_grad()
def decode_chars(
    logits: torch.Tensor,
    vocab: CharVocab,
    *,
    sample: bool = False,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> list[str]:
    """Character decoding (N, L, len(vocab)) -> strings, per position, padding removed."""
    if sample and not temperature > 0:
        raise RaekitError(f"sampling temperature must be positive, got {temperature}")
    scores = torch.nan_to_num(logits.float(), nan=float("-inf"), posinf=1e30)
    dead = ~torch.isfinite(scores).any(-1, keepdim=True)
    scores = torch.where(dead, torch.zeros_like(scores), scores)
    if sample:
        scores = scores - scores.max(-1, keepdim=True).values
        probs = torch.softmax(scores.flatten(0, 1) / temperature, -1)
        index = torch.multinomial(probs, 1, generator=generator).view(scores.shape[:2])
    else:
        index = scores.argmax(-1)
    return vocab.decode(index.cpu().numpy())
