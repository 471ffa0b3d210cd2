import json

import pytest

from raekit.errors import RaekitError
from raekit.paper.figure3 import reproduce_fig3


@pytest.mark.slow
def test_fig3_writes_one_row_per_weight_and_a_curve_per_k(tmp_path):
    path = reproduce_fig3(
        "digits", "tiny", tmp_path, ks=(1, 2), weights=(0.1, 1.0), n=100, epochs=2
    )
    result = json.loads((tmp_path / "fig3.json").read_text())
    assert path.is_file() and set(result["k_curves"]) == {"1", "2"}
    assert all(len(c) == 2 for c in result["k_curves"].values())
    assert set(result["kl_sweep"]) == {"0.1", "1.0"}
    assert (tmp_path / "fig3.md").read_text().count("\n| ") == 4  # header, rule, one row per weight


@pytest.mark.parametrize(
    "kw,message", [(dict(ks=(0,)), "at least 1"), (dict(weights=(0.0,)), "must be positive")]
)
def test_fig3_bad_input(tmp_path, kw, message):
    with pytest.raises(RaekitError, match=message):
        reproduce_fig3("digits", "tiny", tmp_path, **kw)
