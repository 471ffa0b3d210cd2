"""Tokenisation into a grammar's terminals, and character vocabularies for character models."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from raekit.errors import RaekitError
from raekit.grammar.cfg import Grammar


class TokenError(ValueError):
    """A string holds a character sequence that is no terminal of the grammar."""


@lru_cache(maxsize=16)
def _token_regex(terminals: tuple[str, ...]) -> re.Pattern:
    # Longest terminals first, so 'Cl' wins over 'C', '@@' over '@' and 'sin(' over 's'.
    ordered = sorted(terminals, key=lambda t: (-len(t), t))
    return re.compile("|".join(re.escape(t) for t in ordered))


def tokenize(text: str, grammar: Grammar) -> list[str]:
    """Split `text` into the grammar's terminals (whitespace ignored); TokenError if impossible.

    SMILES: 'Cl', 'Br' and '@@' are single tokens; a bracket atom such as '[C@@H]' becomes
    '[', 'C', '@@', 'H', ']'; ring-closure digits are single tokens ('%nn' is not in the grammar).
    """
    regex = _token_regex(grammar.terminals)
    text = "".join(text.split())
    tokens, pos = [], 0
    for match in regex.finditer(text):
        if match.start() != pos:
            break
        tokens.append(match.group())
        pos = match.end()
    if pos != len(text):
        raise TokenError(f"unknown token at character {pos + 1}: {text[pos : pos + 4]!r}")
    return tokens


class CharVocab:
    """Characters of a character-level model; index 0 is the padding character."""

    def __init__(self, chars: str, max_length: int, pad: str = " "):
        if pad in chars:
            raise RaekitError(f"padding character {pad!r} must not be in the vocabulary")
        if len(set(chars)) != len(chars):
            raise RaekitError("character vocabulary has repeated characters")
        self.chars, self.pad, self.max_length = pad + chars, pad, int(max_length)
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, strings) -> np.ndarray:
        """(N, max_length) int64 indices, right-padded; RaekitError on unknown or too long."""
        out = np.zeros((len(strings), self.max_length), dtype=np.int64)
        for row, text in enumerate(strings):
            if len(text) > self.max_length:
                raise RaekitError(
                    f"string {row + 1} has {len(text)} characters, more than "
                    f"{self.max_length}: {text[:40]!r}"
                )
            try:
                out[row, : len(text)] = [self.index[c] for c in text]
            except KeyError as err:
                raise RaekitError(
                    f"string {row + 1} has character {err.args[0]!r} outside the vocabulary"
                ) from None
        return out

    def decode(self, indices) -> list[str]:
        """Strings from (N, L) indices, padding characters removed."""
        chars = self.chars
        return [
            "".join(chars[i] for i in row if 0 < i < len(chars))
            for row in np.asarray(indices).tolist()
        ]
