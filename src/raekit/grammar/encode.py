"""Strings <-> padded production-index sequences (the grammar models' one-hot data).

Parsing runs in this process unless a caller asks for worker processes (`processes=N`, or
`parallel_parsing(N)` around a call that parses: what the CLI's `--processes` does). Worker
processes are spawned, which re-imports the caller's main module: a library call that started
them unasked would hang a script without an `if __name__ == "__main__"` guard. A progress bar
shows on a terminal (elsewhere a line every ~10 s). A string that has an unknown token, is not
derivable or needs more than `max_length` productions is skipped, counted and reported with its
line number; only too many of them is an error.
"""

from __future__ import annotations

import multiprocessing
import os
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from raekit.errors import RaekitError
from raekit.grammar.cfg import Grammar
from raekit.grammar.parsers import ParseError, parser_for
from raekit.grammar.tokens import TokenError, tokenize
from raekit.io.progress import progress as progress_bar

_PROCESSES: ContextVar[int] = ContextVar("raekit_parse_processes", default=1)


@contextmanager
def parallel_parsing(processes: int):
    """Within the block, `encode_productions` calls that leave `processes` unset use this many
    worker processes (0: one per CPU core)."""
    if processes < 0:
        raise RaekitError(f"processes must be 0 (one per core) or more, got {processes}")
    token = _PROCESSES.set(processes or (os.cpu_count() or 1))
    try:
        yield
    finally:
        _PROCESSES.reset(token)


@dataclass
class Encoded:
    """Parsed strings: int16 `indices` (M, max_length) of the `rows` (0-based positions) kept."""

    indices: np.ndarray
    rows: np.ndarray
    failures: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)
    total: int = 0
    lines: np.ndarray | None = None  # the file line of each input row (None: row + 1)

    def report(self, first_line: int = 1, limit: int = 5) -> str:
        """'kept 990 of 1000; skipped 10: line 3: unknown token ...' (first `limit` shown)."""
        text = f"kept {len(self.rows)} of {self.total}"
        if self.failures:
            shown = "; ".join(
                f"line {self.line(r, first_line)}: {why}" for r, why in self.failures[:limit]
            )
            more = f"; ... {len(self.failures) - limit} more" if len(self.failures) > limit else ""
            text += f"; skipped {len(self.failures)}: {shown}{more}"
        return text

    def line(self, row: int, first_line: int = 1) -> int:
        return int(self.lines[row]) if self.lines is not None else row + first_line


@lru_cache(maxsize=8)
def _grammar_parser(text: str, max_length: int):
    # Workers rebuild the grammar from its text once, instead of receiving pickled objects.
    grammar = Grammar(text, max_length)
    return grammar, parser_for(grammar)


def _parse_chunk(args) -> tuple[np.ndarray, list[int], list[tuple[int, str]]]:
    text, max_length, start, strings = args
    grammar, parse = _grammar_parser(text, max_length)
    out = np.full((len(strings), max_length), grammar.padding, dtype=np.int16)
    kept, failures = [], []
    for i, string in enumerate(strings):
        try:
            prods = parse(tokenize(string, grammar))
        except (TokenError, ParseError) as err:
            failures.append((start + i, f"{err} in {string[:60]!r}"))
            continue
        if len(prods) > max_length:
            failures.append((start + i, f"{len(prods)} productions > {max_length}"))
            continue
        out[len(kept), : len(prods)] = prods
        kept.append(start + i)
    return out[: len(kept)], kept, failures


def encode_productions(
    strings,
    grammar: Grammar,
    *,
    processes: int | None = None,
    chunk_size: int = 2000,
    max_invalid_fraction: float = 0.05,
    progress: bool | None = None,
    lines=None,
) -> Encoded:
    """Leftmost derivations of `strings`, each padded with the grammar's `Nothing` rule.

    `processes`: worker processes (default: 1, or what an enclosing `parallel_parsing` asks for
    when there are 20k strings or more). `lines` (optional) gives each string's line in its file,
    for the messages. RaekitError when more than `max_invalid_fraction` of the strings cannot be
    encoded.
    """
    strings = list(strings)
    if not strings:
        raise RaekitError("no strings to encode")
    jobs = [
        (grammar.text, grammar.max_length, s, strings[s : s + chunk_size])
        for s in range(0, len(strings), chunk_size)
    ]
    if (
        processes is None
    ):  # 1 unless asked; a worker costs ~1 s to start: worth it from ~20k strings
        processes = 1 if len(strings) < 20_000 else _PROCESSES.get()
    bar = progress_bar(
        total=len(strings), unit="str", desc=f"parsing {grammar.name}", enabled=progress
    )
    parts = []
    if processes <= 1 or len(jobs) == 1:
        for job in jobs:
            parts.append(_parse_chunk(job))
            bar.update(len(job[3]))
    else:
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            for part, job in zip(pool.imap(_parse_chunk, jobs), jobs):
                parts.append(part)
                bar.update(len(job[3]))
    bar.close()
    result = Encoded(
        indices=np.concatenate([p[0] for p in parts]),  # int16: 1.6M x 277 fits in 0.9 GB
        rows=np.array([r for p in parts for r in p[1]], dtype=np.int64),
        failures=[f for p in parts for f in p[2]],
        total=len(strings),
        lines=None if lines is None else np.asarray(lines, dtype=np.int64),
    )
    if len(result.failures) > max_invalid_fraction * len(strings):
        raise RaekitError(
            f"{len(result.failures)} of {len(strings)} strings cannot be encoded "
            f"with the {grammar.name} grammar (limit {max_invalid_fraction:.0%}): "
            f"{result.report(limit=3)}"
        )
    return result


def to_one_hot(indices, num_symbols: int, dtype=None):
    """(N, L) integer indices -> (N, L, num_symbols) one-hot float32 tensor (or `dtype`)."""
    import torch  # imported here so that parsing workers start without torch

    dtype = dtype or torch.float32
    indices = torch.as_tensor(np.asarray(indices), dtype=torch.long)
    if indices.numel() and not 0 <= int(indices.min()) <= int(indices.max()) < num_symbols:
        raise RaekitError(f"symbol indices outside [0, {num_symbols})")
    # scatter into zeros: 4-5x faster than F.one_hot, which builds an int64 tensor first.
    out = torch.zeros(*indices.shape, num_symbols, dtype=dtype)
    return out.scatter_(-1, indices.unsqueeze(-1), 1)


def productions_to_string(productions, grammar: Grammar) -> str:
    """The string a production sequence derives; '' if it is not a complete derivation.

    Rules are applied to the leftmost non-terminal; the first padding rule ends the sequence.
    """
    prods = grammar.productions
    stack, out = [grammar.cfg.start()], []
    for index in np.asarray(productions).tolist():
        if index == grammar.padding:
            break
        while stack and isinstance(stack[-1], str):
            out.append(stack.pop())
        if not stack or not 0 <= index < len(prods) or stack[-1] != prods[index].lhs():
            return ""
        stack.pop()
        stack.extend(reversed(prods[index].rhs()))
    while stack and isinstance(stack[-1], str):
        out.append(stack.pop())
    return "" if stack else "".join(out)
