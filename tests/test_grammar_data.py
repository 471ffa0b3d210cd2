import gzip

import numpy as np
import pytest

from raekit.errors import RaekitError
from raekit.grammar.cfg import EXPRESSION_GRAMMAR
from raekit.grammar.corpora import MOSES_SHA256, expression_corpus, read_smiles_file
from raekit.grammar.encode import encode_productions


def test_expression_corpus_is_seeded_and_in_grammar():
    corpus = expression_corpus(2000, seed=7)
    assert corpus == expression_corpus(2000, seed=7) and corpus != expression_corpus(2000, seed=8)
    encoded = encode_productions(corpus, EXPRESSION_GRAMMAR, max_invalid_fraction=0, progress=False)
    lengths = (encoded.indices != EXPRESSION_GRAMMAR.padding).sum(1)
    assert lengths.max() <= 15 and lengths.min() == 2
    # Every operator, function and leaf of the grammar shows up.
    text = "".join(corpus)
    assert all(t in text for t in ("+", "*", "/", "sin(", "exp(", "(", "x", "1", "2", "3"))
    assert len(set(corpus)) > 1000


def test_expression_corpus_rejects_bad_size():
    with pytest.raises(RaekitError):
        expression_corpus(0)


def test_smi_file_quotes_whitespace_and_empty_lines(tmp_path):
    path = tmp_path / "zinc.smi"
    path.write_text("\"CCO\"\n  c1ccccc1  \n\nCC(=O)O\tacid\n'CN'\n")
    rows = read_smiles_file(path)
    assert rows.values == ["CCO", "c1ccccc1", "CC(=O)O", "CN"]
    assert rows.lines == [1, 2, 4, 5] and rows.skipped == [(3, "empty line")]
    assert read_smiles_file(path, max_rows=2).values == ["CCO", "c1ccccc1"]


def test_csv_and_gzip(tmp_path):
    path = tmp_path / "train.csv.gz"
    path.write_bytes(gzip.compress(b"id,SMILES,split\n1,CCO,train\n2,,train\n3,C1CC,test\n"))
    rows = read_smiles_file(path)
    assert rows.values == ["CCO", "C1CC"] and rows.lines == [2, 4]
    checked = read_smiles_file(path, validate=True)
    assert checked.values == ["CCO"] and [r for r, _ in checked.skipped] == [3, 4]


@pytest.mark.parametrize(
    "content, message",
    [(None, "not found"), ("", "empty"), ("\n\n", "empty"), ("a,b\n1,2\n", "no SMILES column")],
)
def test_bad_files(tmp_path, content, message):
    path = tmp_path / ("x.csv" if content and "," in content else "x.smi")
    if content is not None:
        path.write_text(content)
    with pytest.raises(RaekitError, match=message):
        read_smiles_file(path)


def test_moses_checksum_is_recorded():
    assert len(MOSES_SHA256) == 64 and int(MOSES_SHA256, 16) > 0
    assert np.unique(list(MOSES_SHA256)).size > 8


def test_csv_smiles_with_bare_carriage_returns_or_huge_fields_never_raise_a_traceback(tmp_path):
    path = tmp_path / "m.csv"
    path.write_bytes(b"smiles\rCCO\rc1ccccc1\n")  # old Mac line ends: csv splits them itself
    assert read_smiles_file(path).values == ["CCO", "c1ccccc1"]
    path.write_text("smiles\n" + "C" * 200_000 + "\n")  # beyond csv's field size limit
    with pytest.raises(RaekitError, match="not a readable CSV file"):
        read_smiles_file(path)
