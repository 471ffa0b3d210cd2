"""CVAE, GVAE and GRAE train on expressions with the shared trainer, decode, and feed BO."""

import numpy as np
import pytest

from raekit.config import make_config
from raekit.errors import RaekitError
from raekit.generation import encode_images
from raekit.grammar.task import decode_strings, load_sequences
from raekit.paper.figure2 import figure2_table
from raekit.runs import load_run
from raekit.training import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    runs = {}
    for model in ("cvae", "gvae", "grae"):
        # A constant learning rate: on 2,000 rows the plateau schedule cuts it to its floor within
        # a few epochs, and GRAE, whose codes carry no noise, then never learns to use them.
        config = make_config("expressions", model, "tiny", epochs=30, max_rows=2000, lr_patience=30)
        runs[model] = train(config, tmp_path_factory.mktemp(model) / "run")
    return runs


def _accuracy(net, model, codes_or_logits, target, logits=False):
    import torch

    from raekit.grammar.cfg import get_grammar
    from raekit.grammar.decode import decode_grammar

    with torch.no_grad():
        out = (
            codes_or_logits
            if logits
            else net.decode(torch.as_tensor(codes_or_logits, dtype=torch.float32))
        )
    if model == "cvae":
        predicted = out.argmax(-1).numpy()
    else:
        predicted = decode_grammar(out, get_grammar("expressions")).productions.numpy()
    return float((predicted == target).mean())


@pytest.mark.slow
@pytest.mark.parametrize(
    "model",
    ["cvae", "gvae", "grae"],
)
def test_sequence_models_reconstruct_better_than_chance(trained, model):
    import torch

    net, config = load_run(trained[model])
    target = load_sequences(config).test[:200]
    codes = encode_images(net, target)
    logits_shape = net.decode(torch.zeros(1, config.latent_dim)).shape[1:]
    chance = _accuracy(
        net,
        model,
        torch.randn(len(target), *logits_shape, generator=torch.Generator().manual_seed(0)),
        target,
        logits=True,
    )
    assert _accuracy(net, model, codes, target) > chance + 0.1
    if model == "grae":  # deterministic codes: the decoder must use them
        shuffled = codes[np.random.default_rng(0).permutation(len(codes))]
        assert _accuracy(net, model, codes, target) > _accuracy(net, model, shuffled, target) + 0.05
    strings = decode_strings(net, codes[:20])
    assert len(strings) == 20 and all(isinstance(s, str) for s in strings)


def test_sequence_models_need_a_sequence_task():
    with pytest.raises(RaekitError, match="does not apply to an image dataset"):
        make_config("mnist", "grae")
    with pytest.raises(RaekitError, match="does not apply to a sequence task"):
        make_config("expressions", "rae-l2")


def test_figure2_table_shows_paper_numbers_beside_ours():
    rows = {
        "grae": {"fraction_valid": 1.0, "mean_score": 3.5, "std_score": 0.25, "top": [["x", 0.49]]}
    }
    text = figure2_table("expressions", rows).markdown()
    assert "| grae | 1.00 | 3.50 ± 0.25 | not recorded | x (0.49) | 1.00 | 3.22 |" in text
    rows["grae"].update(se_score=0.1, score_seeds=4, seeds=5, seeds_without_score=[3])
    text = figure2_table("expressions", rows).markdown()
    assert "| 3.50 ± 0.10 (std 0.25) | 4 of 5 (none from seed 3) |" in text
    rows["grae"]["fraction_valid"] = 0.009  # under 1% valid: no average shown
    assert "| grae | 0.01 | – |" in figure2_table("expressions", rows).markdown()


@pytest.mark.slow
def test_bo_runs_end_to_end_on_a_trained_grae(trained):
    from raekit.bo.acquisition import ACQUISITION
    from raekit.bo.optimise import run_bo

    row = run_bo(trained["grae"], iterations=1, batch=3, seeds=1, draws=3, max_codes=200)
    assert 0.0 <= row["fraction_valid"] <= 1.0 and len(row["gp_metrics"]) == 1
    assert (trained["grae"] / "bo.json").is_file()
    assert row["acquisition"] == ACQUISITION and row["bo_seconds"] > 0
    for item, score in row["top"]:
        from raekit.grammar.scores import expression_score

        assert score == pytest.approx(expression_score(item))


@pytest.mark.slow
def test_bo_keeps_each_finished_seed_and_reuses_it(trained, monkeypatch, capsys):
    from raekit.bo import optimise
    from raekit.bo.optimise import run_bo

    options = dict(iterations=1, batch=3, seeds=2, draws=3, max_codes=200, gp="exact")
    first = run_bo(trained["gvae"], **options)
    seeds = sorted(p.name for p in (trained["gvae"] / "bo-seeds").iterdir())
    assert seeds == ["seed0.json", "seed1.json"]
    calls = []
    real = optimise.bayesian_optimisation  # patched where run_bo looks it up
    monkeypatch.setattr(
        optimise, "bayesian_optimisation", lambda *a, **k: calls.append(k) or real(*a, **k)
    )
    again = run_bo(trained["gvae"], **options)
    assert calls == [] and "reusing seed 1" in capsys.readouterr().err
    for key in ("fraction_valid", "mean_score", "std_score", "mean_valid_score", "top"):
        assert again[key] == first[key]
    assert again["bo_seconds"] == first["bo_seconds"]  # the seeds' own times, kept with them
    # A third seed is run alone; other settings run every seed again.
    run_bo(trained["gvae"], **{**options, "seeds": 3})
    assert [k["seed"] for k in calls] == [2]
    run_bo(trained["gvae"], **{**options, "batch": 2})
    assert [k["seed"] for k in calls] == [2, 0, 1]
