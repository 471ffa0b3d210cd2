"""`raekit sample` / `raekit interpolate` on a sequence run (strings out) and GrammarVAE's
measures in `raekit grammar-check`, through the real CLI on a small trained GRAE."""

from __future__ import annotations

import json

import numpy as np
import pytest

from raekit.bo import measures
from raekit.cli import main
from raekit.config import make_config
from raekit.grammar.scores import is_valid_expression
from raekit.training import train

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    config = make_config("expressions", "grae", "tiny", epochs=2, max_rows=400)
    return train(config, tmp_path_factory.mktemp("grae") / "run")


def test_sample_writes_strings_and_their_validity(run, tmp_path, capsys):
    out = tmp_path / "s.txt"
    argv = ["sample", str(run), "--density", "gaussian", "--n", "7", "--out", str(out)]
    assert main(argv) == 0
    lines = out.read_text().splitlines()
    assert len(out.read_text().split("\n")) == 8 and len(lines) <= 7
    assert main([*argv[:-1], str(tmp_path / "s.json"), "--decode", "sample"]) == 0
    items = json.loads((tmp_path / "s.json").read_text())
    assert len(items) == 7
    assert all(
        i["valid"] == (bool(i["string"]) and is_valid_expression(i["string"])) for i in items
    )
    assert f"{sum(i['valid'] for i in items)} of 7 decodings valid" in capsys.readouterr().out


def test_interpolate_lists_the_decodings_between_two_codes(run, tmp_path):
    from raekit.generation import encode_images
    from raekit.grammar.task import decode_strings, load_sequences
    from raekit.runs import load_run

    out = tmp_path / "line.json"
    argv = ["interpolate", str(run), "--pairs", "2", "--steps", "5", "--method", "linear"]
    assert main([*argv, "--split", "test", "--out", str(out)]) == 0
    pairs = json.loads(out.read_text())
    assert len(pairs) == 2 and all(len(p["path"]) == 5 for p in pairs)
    model, config = load_run(run)
    data = load_sequences(config)
    first = pairs[0]
    ends = [data.strings["test"].index(first[k]) for k in ("from", "to")]
    codes = encode_images(model, data.test[ends], desc=None).astype(np.float32)
    assert [first["path"][0]["string"], first["path"][-1]["string"]] == decode_strings(model, codes)
    assert [p["t"] for p in first["path"]] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert main([*argv, "--out", str(tmp_path / "line.txt")]) == 0
    assert (tmp_path / "line.txt").read_text().startswith("pair 1: ")


def test_sequence_outputs_refuse_image_suffixes(run, tmp_path, capsys):
    assert main(["sample", str(run), "--out", str(tmp_path / "grid.png")]) == 2
    err = capsys.readouterr().err
    assert "must end in .txt or .json" in err and "Traceback" not in err
    assert not (tmp_path / "grid.png").exists()


def test_grammar_check_records_grammarvaes_measures_with_small_counts(run, capsys):
    argv = ["grammar-check", str(run), "--n", "20", "--encodings", "2", "--decodings", "3"]
    assert main([*argv, "--prior-draws", "5", "--prior-decodings", "4"]) == 0
    report = json.loads((run / "check.json").read_text())
    got = report["grammarvae_measures"]
    assert got["counts"] == {"encodings": 2, "decodings": 3, "prior_draws": 5, "prior_decodings": 4}
    assert 0.0 <= got["reconstruction"]["accuracy"] <= 1.0
    assert got["prior_validity"]["prior"] == "GMM on training codes"  # GRAE has no prior
    assert "GrammarVAE's reconstruction accuracy" in capsys.readouterr().out
    assert main(["grammar-check", str(run), "--prior-draws", "-1"]) == 2


def test_reconstruction_accuracy_counts_every_decoding(monkeypatch):
    # A stand-in decoder: code i decodes to "a" on draws of even index and to "b" otherwise.
    def draws(model, codes, decodings, seed=0):
        return [["a" if d % 2 == 0 else "b" for d in range(decodings)] for _ in codes]

    monkeypatch.setattr(measures, "decode_draws", draws)

    class Model:
        noise_std = 0.01

        def eval(self):
            return self

        def posterior(self, x):
            return x.float(), None

        def posterior_std(self, logvar):
            return 0.0

    truth = np.array(["a", "b", "c"], dtype=object)
    got = measures.reconstruction_accuracy(Model(), np.zeros((3, 2)), truth, 2, 5)
    # "a": 3 of 5 draws, "b": 2 of 5, "c": none -> 5 / 15
    assert got == pytest.approx(5 / 15)
    valid = measures.prior_validity(Model(), np.zeros((4, 2)), 5, lambda s: s == "a")
    assert valid == pytest.approx(3 / 5)
