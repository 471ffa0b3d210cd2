"""Sequence tasks of the paper's Section 6.2: expressions and molecules as model-ready data.

Grammar models (GVAE, GRAE) see production-index sequences; the character model (CVAE) sees
character indices. Both are int arrays (N, max_length) split 80/10/10 with a seeded permutation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from raekit.config.dataset_specs import SEQUENCE_TASKS
from raekit.config.variants import get_variant
from raekit.errors import RaekitError
from raekit.grammar.cfg import get_grammar
from raekit.grammar.decode import decode_chars, decode_grammar
from raekit.grammar.draws import decode_grammar_draws
from raekit.grammar.encode import encode_productions
from raekit.grammar.sequence_task import sequence_task
from raekit.grammar.tokens import CharVocab

TASKS = SEQUENCE_TASKS


@dataclass(frozen=True)
class SequenceSplits:
    """Integer sequences per split and the strings they encode (train / valid / test)."""

    name: str
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    strings: dict[str, list[str]]


def char_vocab(task: str) -> CharVocab:
    """A fixed vocabulary: every character of the task grammar's terminals (plus padding)."""
    grammar = get_grammar(task)
    chars = sorted(
        {c for p in grammar.productions for s in p.rhs() if isinstance(s, str) for c in s}
    )
    return CharVocab("".join(chars), sequence_task(task).char_max_length)


def uses_grammar(model: str) -> bool:
    return get_variant(model).data == "grammar"


def num_symbols(task: str, model: str) -> int:
    return len(get_grammar(task).productions) if uses_grammar(model) else len(char_vocab(task))


def max_length(task: str, model: str) -> int:
    if uses_grammar(model):
        return get_grammar(task).max_length
    return sequence_task(task).char_max_length


def task_strings(config) -> tuple[list[str], list[int] | None]:
    """The raw strings of a config's task and their file lines (None where the file has none)."""
    return sequence_task(config.dataset).read_strings(config)


def encode_strings(
    strings: list[str], task: str, model: str, lines: list[int] | None = None
) -> tuple[np.ndarray, list[str]]:
    """(indices, strings kept): out-of-grammar or too-long strings are dropped and reported
    (with their file `lines` when given)."""
    if uses_grammar(model):
        encoded = encode_productions(strings, get_grammar(task), lines=lines)
        if encoded.failures:
            print(f"raekit: {encoded.report()}")
        return encoded.indices.astype(np.int64), [strings[i] for i in encoded.rows]
    vocab = char_vocab(task)
    keep = [s for s in strings if len(s) <= vocab.max_length and all(c in vocab.index for c in s)]
    if len(keep) < len(strings):
        print(
            f"raekit: kept {len(keep)} of {len(strings)} strings (others too long or with other characters)"
        )
    return vocab.encode(keep), keep


def load_sequences(config) -> SequenceSplits:
    strings, lines = task_strings(config)
    indices, strings = encode_strings(strings, config.dataset, config.model, lines)
    if len(indices) < 10:
        raise RaekitError(
            f"only {len(indices)} usable strings for {config.dataset}; need at least 10"
        )
    order = np.random.default_rng(config.seed).permutation(len(indices))
    n_valid = n_test = max(1, len(order) // 10)
    parts = {
        "valid": order[:n_valid],
        "test": order[n_valid : n_valid + n_test],
        "train": order[n_valid + n_test :],
    }
    return SequenceSplits(
        config.dataset,
        indices[parts["train"]],
        indices[parts["valid"]],
        indices[parts["test"]],
        {k: [strings[i] for i in v] for k, v in parts.items()},
    )


@torch.no_grad()
def decode_strings(model, codes, sample: bool = False, seed: int = 0) -> list[str]:
    """Strings decoded from codes (masked grammar decoding, or characters for the CVAE)."""
    model.eval()
    device = next(model.parameters()).device
    logits = model.decode(torch.as_tensor(np.asarray(codes), dtype=torch.float32, device=device))
    generator = torch.Generator(device=device).manual_seed(seed) if sample else None
    task = model.config.dataset
    if uses_grammar(model.config.model):
        return decode_grammar(logits, get_grammar(task), sample=sample, generator=generator).strings
    return decode_chars(logits, char_vocab(task), sample=sample, generator=generator)


@torch.no_grad()
def decode_draws(model, codes, draws: int, seed: int = 0, chunk: int = 50_000) -> list[list[str]]:
    """``draws`` sampled decodings of each code: strings[i][d]. The decoder runs once per code;
    grammar models then sample every draw at once (`decode_grammar_draws`), the character
    model per position in chunks of about ``chunk`` sequences."""
    model.eval()
    device = next(model.parameters()).device
    logits = model.decode(torch.as_tensor(np.asarray(codes), dtype=torch.float32, device=device))
    generator = torch.Generator(device=device).manual_seed(seed)
    task = model.config.dataset
    if uses_grammar(model.config.model):
        return decode_grammar_draws(logits, get_grammar(task), draws, generator=generator)
    vocab, n = char_vocab(task), len(logits)
    samples: list[list[str]] = [[] for _ in range(n)]
    per_chunk = max(1, chunk // max(1, n))
    for start in range(0, draws, per_chunk):
        k = min(per_chunk, draws - start)
        strings = decode_chars(
            logits.repeat_interleave(k, 0), vocab, sample=True, generator=generator
        )
        for i in range(n):  # rows i * k ... i * k + k - 1 are code i's draws
            samples[i] += strings[i * k : (i + 1) * k]
    return samples
