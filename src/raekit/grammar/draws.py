"""Many masked decodings of the same logits at once: what BO's decode-and-vote needs.

BO decodes each proposed point 25 (expressions) or 500 (molecules) times. The decoder's logits
do not depend on the draw, so they are computed once; all draws of all points then run as rows
of one vectorised stack machine. The masked distribution at a step depends only on the point
and the popped non-terminal, so it is tabulated once per (point, step, non-terminal) as a
cumulative sum of softmax weights (`_Tables`): a draw costs one uniform number and a binary
search per step (inverse-CDF sampling), a greedy decoding one lookup. Rows leave the working
set once their stack is empty, or holds more non-terminals than there are steps left to expand
them (they could never complete), and each distinct derivation becomes a string once.
Edge cases follow `decode_grammar`: NaN logits never win, +inf ones share the probability,
a non-terminal without a finite allowed logit is uniform over its productions.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from raekit.errors import RaekitError
from raekit.grammar.cfg import Grammar
from raekit.grammar.decode import _tables


@torch.no_grad()
def decode_grammar_draws(
    logits: torch.Tensor,
    grammar: Grammar,
    draws: int = 1,
    *,
    sample: bool = True,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    uniforms: torch.Tensor | None = None,
) -> list[list[str]]:
    """``draws`` masked decodings of each of N sequences of logits (N, L, S).

    ``uniforms`` (N, draws, L) in [0, 1) replace ``generator``'s random numbers (draw d of
    sequence i uses uniforms[i, d, t] at step t). Returns strings[i][d] ('' for a derivation
    still open after L steps).
    """
    _check_draws(sample, temperature, draws)
    n, steps, _ = logits.shape
    device = logits.device
    rhs, rhs_len, _, nothing = _tables(grammar, device)
    table = _Tables(logits, grammar, temperature if sample else 1.0)
    width, pushed_rhs, offsets = _push_tables(rhs, nothing)
    # Working set: flat rows (point, draw). A row whose stack holds more non-terminals than
    # steps are left can never complete: it fails and stops growing, so steps + width slots
    # suffice. Finished rows leave the working set once a quarter of it has finished.
    ids = torch.arange(n * draws, device=device)
    stack = torch.full((n * draws, steps + width + 1), nothing, dtype=torch.int16, device=device)
    stack[:, 0] = grammar.start_index
    top = torch.ones(n * draws, dtype=torch.long, device=device)
    failed = torch.zeros(n * draws, dtype=torch.bool, device=device)
    work = torch.full((n * draws, steps), grammar.padding, dtype=torch.long, device=device)
    chosen, complete = work.clone(), torch.zeros_like(failed)
    for t in range(steps):
        doomed = top > steps - t
        failed, top = failed | doomed, torch.where(doomed, 0, top)
        active = top > 0
        count = int(active.sum())
        if count == 0:
            break
        if count < 0.75 * len(ids):
            done = ~active
            chosen[ids[done]], complete[ids[done]] = work[done], ~failed[done]
            ids, stack, top, work, failed = (x[active] for x in (ids, stack, top, work, failed))
            active = torch.ones_like(failed)
        top = top - active.long()
        symbol = stack.gather(1, top.unsqueeze(-1)).squeeze(-1).long()
        symbol = torch.where(active, symbol, nothing)  # finished rows pad
        point = ids // draws
        if not sample:
            choice = table.best[point, t, symbol]
        else:
            u = _uniforms(uniforms, ids, t, generator, device)
            choice = table.sample(t, point, symbol, u)
        work[:, t] = choice
        # The production's non-terminals, reversed, above the top; slots past its length get
        # padding that later pushes overwrite before anything reads them.
        stack.scatter_(1, top.unsqueeze(-1) + offsets, pushed_rhs[choice])
        top = top + rhs_len[choice]
    chosen[ids], complete[ids] = work, (top == 0) & ~failed
    return _strings(chosen.view(n, draws, steps), complete.view(n, draws), grammar)


def _push_tables(rhs: torch.Tensor, nothing: int):
    """(width, each production's right-hand side as pushed, the stack offsets of a push)."""
    width = max(1, rhs.shape[1])
    pushed = torch.where(rhs >= 0, rhs, nothing).to(torch.int16)
    return width, pushed, torch.arange(width, device=rhs.device)


def _check_draws(sample: bool, temperature: float, draws: int) -> None:
    if sample and not temperature > 0:
        raise RaekitError(f"sampling temperature must be positive, got {temperature}")
    if draws < 1:
        raise RaekitError(f"draws must be at least 1, got {draws}")


def _uniforms(uniforms, ids: torch.Tensor, t: int, generator, device) -> torch.Tensor:
    """Step t's uniform numbers of the working rows: given ones (N, draws, L), or drawn."""
    if uniforms is not None:
        return uniforms.reshape(-1, uniforms.shape[-1])[ids, t].to(torch.float64)
    return torch.rand(len(ids), generator=generator, dtype=torch.float64, device=device)


class _Tables:
    """Softmax weights of each (point, step) with the productions grouped by left-hand side,
    so that each non-terminal's productions are one run of a cumulative sum `cum` (N, L, S)
    that also rises across points (an offset per point): one 1-D binary search per step finds
    any row's production. Per (point, step, non-terminal): its run's `base` and `total`, its
    `last` position of positive weight and the greedy choice `best`."""

    def __init__(self, logits: torch.Tensor, grammar: Grammar, temperature: float):
        device = logits.device
        masks = torch.as_tensor(grammar.masks, dtype=torch.bool, device=device)
        lhs = torch.as_tensor(grammar.lhs, dtype=torch.long, device=device)
        self.order = torch.argsort(lhs, stable=True)  # grouped position -> production index
        scores = torch.nan_to_num(logits.double()[..., self.order], nan=float("-inf"))
        weights = torch.zeros_like(scores)
        shape = logits.shape[:2] + (len(masks),)
        self.last = torch.zeros(shape, dtype=torch.long, device=device)
        self.best = torch.zeros(shape, dtype=torch.long, device=device)
        starts, ends = [], []
        for k in range(len(masks)):
            where = (lhs[self.order] == k).nonzero().squeeze(-1)
            a, b = int(where[0]), int(where[-1]) + 1
            starts.append(a)
            ends.append(b - 1)
            allowed = masks[k][self.order[a:b]]
            block = _allowed_scores(scores[..., a:b], allowed)
            weights[..., a:b] = torch.where(
                allowed, ((block - block.max(-1, keepdim=True).values) / temperature).exp(), 0.0
            )
            self.best[..., k] = self.order[a + block.argmax(-1)]
            positive = (weights[..., a:b] > 0) * torch.arange(1, b - a + 1, device=device)
            self.last[..., k] = a + positive.argmax(-1)
        cum = weights.cumsum(-1)  # (N, L, S), each <= S
        # Lift point i's sums by i * (S + 1): one array per step that rises across all points.
        self.width = scores.shape[-1]
        lift = torch.arange(len(cum), device=device, dtype=cum.dtype)[:, None, None] * (
            self.width + 1
        )
        before = torch.cat([torch.zeros_like(cum[..., :1]), cum], -1)
        self.base = before[..., starts] + lift
        self.total = cum[..., ends] - before[..., starts]
        self.cum = (cum + lift).transpose(0, 1).reshape(cum.shape[1], -1).contiguous()  # (L, N*S)

    def sample(
        self, t: int, point: torch.Tensor, symbol: torch.Tensor, u: torch.Tensor
    ) -> torch.Tensor:
        """Productions for rows of `point` and non-terminal `symbol` at step t, by uniforms u."""
        target = self.base[point, t, symbol] + u * self.total[point, t, symbol]
        position = torch.searchsorted(self.cum[t], target, right=True) - point * self.width
        # Rounding can land just past the run's last positive weight: step back onto it.
        position = torch.minimum(position, self.last[point, t, symbol])
        return self.order[position]


def _allowed_scores(scores: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Outside `allowed` -inf; allowed +inf logits share all the probability; a row without a
    finite allowed logit is uniform over the allowed productions (as `decode_grammar`)."""
    neg_inf = torch.tensor(float("-inf"), dtype=scores.dtype, device=scores.device)
    scores = torch.where(allowed, scores, neg_inf)
    posinf = scores == float("inf")
    if bool(posinf.any()):
        scores = torch.where(
            posinf.any(-1, keepdim=True), torch.where(posinf, 0.0, neg_inf), scores
        )
    dead = ~(scores > neg_inf).any(-1, keepdim=True)
    return torch.where(dead & allowed, 0.0, scores)


def _strings(chosen: torch.Tensor, complete: torch.Tensor, grammar: Grammar) -> list[list[str]]:
    n, draws, _ = chosen.shape
    rows = chosen.reshape(n * draws, -1).cpu().numpy().astype(np.int16)
    done = complete.reshape(-1).cpu().numpy()
    expand = _expansions(grammar)
    text: dict[bytes, str] = {b"": ""}
    flat = []
    for row, ok in zip(rows, done):
        key = row.tobytes() if ok else b""
        if key not in text:
            text[key] = _derived(row, expand, grammar.padding)
        flat.append(text[key])
    return [flat[i * draws : (i + 1) * draws] for i in range(n)]


@lru_cache(maxsize=8)
def _expansions(grammar: Grammar) -> tuple[tuple, ...]:
    """Per production, its right-hand side reversed: terminals as str, non-terminals as None."""
    return tuple(
        tuple(s if isinstance(s, str) else None for s in reversed(p.rhs()))
        for p in grammar.productions
    )


def _derived(productions: np.ndarray, expand: tuple[tuple, ...], padding: int) -> str:
    """The terminals of a complete leftmost derivation, in order. Masked decoding only ever
    expands the non-terminal on top, so no left-hand side needs checking here."""
    stack: list = [None]
    out: list[str] = []
    for index in productions.tolist():
        if index == padding:
            break
        while stack[-1] is not None:
            out.append(stack.pop())
        stack.pop()
        stack.extend(expand[index])
    out.extend(reversed(stack))
    return "".join(out)
