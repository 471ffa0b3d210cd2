"""Grammar-model data: the expression corpus, SMILES files and the MOSES training set."""

from __future__ import annotations

import csv
import gzip
import io
import random
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from raekit.errors import RaekitError
from raekit.grammar.cfg import EXPRESSION_GRAMMAR, Grammar
from raekit.grammar.parsers import ExpressionParser
from raekit.grammar.scores import is_valid_molecule
from raekit.grammar.tokens import tokenize
from raekit.io.cache import cache_dir
from raekit.io.transfer import extract_from_wheel

MOSES_REQUIREMENT = "molsets==0.3.1"
MOSES_MEMBER = "moses/dataset/data/train.csv.gz"
# SHA-256 of the member above as shipped in the molsets 0.3.1 wheel (1,584,663 SMILES).
MOSES_SHA256 = "786f0313aa6b9ba5514df685f885742a70ea8d86f1a4fa48115f7f80a634265c"
_SMILES_COLUMNS = ("smiles", "SMILES", "Smiles")


@dataclass
class TextRows:
    """Strings read from a file, their 1-based line numbers, and the lines skipped (and why)."""

    values: list[str]
    lines: list[int]
    skipped: list[tuple[int, str]] = field(default_factory=list)


def expression_corpus(
    n: int = 100_000,
    seed: int = 0,
    grammar: Grammar = EXPRESSION_GRAMMAR,
) -> list[str]:
    """`n` distinct random expressions in the style of Kusner et al. (2017), Section 4.1.

    Their data are binary operations of unary operations of x and constants. Reconstructed
    template: 1 to 4 terms joined by '+', '*' or '/' (uniform); each term is, with equal
    chance, a leaf (x, 1, 2, 3), sin/exp of a leaf, or sin/exp/parentheses of `leaf op leaf`.
    Expressions whose derivation needs more than the grammar's `max_length` (15) productions,
    and repeats, are drawn again.
    """
    if n < 1:
        raise RaekitError(f"expression corpus size must be positive, got {n}")
    rng = random.Random(seed)  # ~10x faster than numpy for single draws
    parse = ExpressionParser(grammar)
    seen: dict[str, None] = {}
    for _ in range(100 * n):  # the template spans > 10^8 expressions: this always suffices
        text = _random_expression(rng)
        if text not in seen and len(parse(tokenize(text, grammar))) <= grammar.max_length:
            seen[text] = None
            if len(seen) == n:
                break
    return list(seen)


def _random_expression(rng: random.Random) -> str:
    leaf = lambda: rng.choice("x123")  # noqa: E731
    op = lambda: rng.choice("+*/")  # noqa: E731
    terms = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(3)
        if kind == 0:
            terms.append(leaf())
        elif kind == 1:
            terms.append(f"{rng.choice(['sin', 'exp'])}({leaf()})")
        else:
            terms.append(f"{rng.choice(['sin', 'exp', ''])}({leaf()}{op()}{leaf()})")
    return "".join(t + op() for t in terms[:-1]) + terms[-1]


def read_smiles_file(path, max_rows: int | None = None, validate: bool = False) -> TextRows:
    """SMILES from a `.smi`/`.txt` file (one per line, first field) or a CSV with a SMILES column.

    `.gz` files are read transparently. Empty lines are skipped and reported; quotes and
    trailing whitespace are removed. With `validate`, SMILES that rdkit rejects are skipped too.
    """
    path = Path(path)
    if not path.is_file():
        raise RaekitError(f"SMILES file not found: {path}")
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz" or raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise RaekitError(
            f"{path} is corrupt or truncated ({exc.__class__.__name__}: {exc})"
        ) from None
    text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        raise RaekitError(f"SMILES file is empty: {path}")
    rows = _csv_rows(text, path) if _is_csv(path, text) else _line_rows(text)
    result = TextRows([], [])
    for line, value in rows:
        if max_rows is not None and len(result.values) >= max_rows:
            break
        if not value:
            result.skipped.append((line, "empty line"))
        elif validate and not _rdkit_valid(value):
            result.skipped.append((line, f"invalid SMILES {value[:60]!r}"))
        else:
            result.values.append(value)
            result.lines.append(line)
    if not result.values:
        raise RaekitError(f"no SMILES in {path} ({len(result.skipped)} lines skipped)")
    return result


def _is_csv(path: Path, text: str) -> bool:
    name = path.name.lower().removesuffix(".gz")
    return name.endswith(".csv") or text.split("\n", 1)[0].strip().strip('"') in _SMILES_COLUMNS


def _csv_rows(text: str, path: Path):
    reader = csv.reader(io.StringIO(text, newline=""))  # csv splits \r, \n and \r\n itself
    try:
        header = next(reader)
        column = next((i for i, h in enumerate(header) if h.strip() in _SMILES_COLUMNS), None)
        if column is None:
            raise RaekitError(f"{path} has no SMILES column (columns: {', '.join(header)})")
        for line, row in enumerate(reader, start=2):
            yield line, row[column].strip() if column < len(row) else ""
    except csv.Error as err:
        raise RaekitError(
            f"{path} is not a readable CSV file (line {reader.line_num}: {err})"
        ) from None


def _line_rows(text: str):
    for line, row in enumerate(text.splitlines(), start=1):
        fields = row.strip().split()
        yield line, fields[0].strip("\"'") if fields else ""


def _rdkit_valid(smiles: str) -> bool:
    return is_valid_molecule(smiles)


def fetch_moses(dest=None) -> Path:
    """The MOSES training SMILES (`train.csv.gz`), taken out of the molsets 0.3.1 wheel."""

    dest = Path(dest) if dest is not None else cache_dir() / "moses" / "train.csv.gz"
    if dest.is_file():
        return dest
    return extract_from_wheel(MOSES_REQUIREMENT, MOSES_MEMBER, dest, sha256=MOSES_SHA256)
