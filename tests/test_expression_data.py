"""GrammarVAE's expression file: reader, fetch (offline copy, SHA-256), use by the task."""

from pathlib import Path

import numpy as np
import pytest

from raekit.cli import main
from raekit.config import make_config
from raekit.errors import RaekitError
from raekit.grammar.cfg import EXPRESSION_GRAMMAR
from raekit.grammar.encode import encode_productions
from raekit.grammar.expression_file import (
    EXPRESSIONS_NAME,
    EXPRESSIONS_SHA256,
    fetch_expressions,
    read_expressions,
)
from raekit.grammar.task import task_strings

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / EXPRESSIONS_NAME
# Lines in the file's format: tokens separated by single spaces, 'sin(' and 'exp(' as one token.
LINES = ["x + x + ( x ) + ( x + 1 )", "sin( x ) * 2", "", "1 / 3 + exp( x / 2 )", "x"]


@pytest.fixture
def small(tmp_path):
    path = tmp_path / EXPRESSIONS_NAME
    path.write_text("\n".join(LINES) + "\n")
    return path


def test_reader_removes_spaces_and_skips_empty_lines(small):
    got = read_expressions(small)
    assert got == ["x+x+(x)+(x+1)", "sin(x)*2", "1/3+exp(x/2)", "x"]
    encoded = encode_productions(got, EXPRESSION_GRAMMAR, max_invalid_fraction=0, progress=False)
    assert len(encoded.rows) == 4  # every line derives from GrammarVAE's expression grammar
    subset = read_expressions(small, max_rows=2, seed=3)
    assert subset == read_expressions(small, max_rows=2, seed=3) and len(subset) == 2
    assert [got.index(e) for e in subset] == sorted(got.index(e) for e in subset)  # file order


def test_task_reads_the_data_root_file_or_folder(small, capsys):
    for root in (small, small.parent):
        config = make_config("expressions", "grae", "tiny", data_root=str(root), max_rows=None)
        assert task_strings(config) == (
            read_expressions(small),
            None,
        )  # expressions carry no line numbers
        assert f"expressions from {small}" in capsys.readouterr().err
    with pytest.raises(RaekitError, match="expression file not found"):
        task_strings(make_config("expressions", "grae", "tiny", data_root=str(small) + ".missing"))


def test_task_falls_back_to_the_synthetic_corpus_and_says_so(capsys):
    strings, _ = task_strings(make_config("expressions", "grae", "tiny", max_rows=50))
    assert len(strings) == 50
    assert "using raekit's synthetic expression corpus" in capsys.readouterr().err


def test_fetch_from_a_file_checks_sha256(small, tmp_path, capsys):
    assert main(["fetch", "expressions", "--from", str(small), "--dest", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("raekit: ") and "SHA-256 mismatch" in err
    assert not (tmp_path / "d" / EXPRESSIONS_NAME).exists()
    with pytest.raises(RaekitError, match="expression file not found"):
        fetch_expressions(tmp_path, source=tmp_path / "nothing.txt")


@pytest.mark.skipif(
    not SHARED.is_file(), reason="GrammarVAE's expression file is not on this machine"
)
def test_real_file_fetched_offline_and_read(tmp_path):
    path = fetch_expressions(tmp_path, source=SHARED)
    from raekit.io.transfer import digest

    assert digest(path) == EXPRESSIONS_SHA256
    expressions = read_expressions(path)
    assert len(expressions) == 100_000
    assert np.mean([e.count("+") for e in expressions]) == pytest.approx(2.7096)
