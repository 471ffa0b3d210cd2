"""What the grammar parsers share: their error, a guard against absurd nesting, and the
pre-order of a left-recursive list."""

from __future__ import annotations

import functools


class ParseError(ValueError):
    """Tokens that the grammar does not derive."""


def depth_limited(parse):
    """A parser that reports absurd nesting (`C(C(C(...` hundreds deep) as a ParseError, not a
    RecursionError: recursive descent needs a few Python frames per level."""

    @functools.wraps(parse)
    def wrapper(self, tokens: list[str]) -> list[int]:
        try:
            return parse(self, tokens)
        except RecursionError:
            raise ParseError("nested too deeply") from None

    return wrapper


def left_list(out: list[int], items: list, more, first) -> None:
    """Pre-order of a left-recursive list: `more(item)` rules last-to-first, then `first`."""
    for item in reversed(items[1:]):
        out.append(more(item))
    out.append(first)
