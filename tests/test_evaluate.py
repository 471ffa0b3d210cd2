"""evaluate, reproduce and the generation commands end to end on digits with the tiny preset."""

import json
import shutil

import numpy as np
import pytest

from raekit.cli import main
from raekit.config import make_config
from raekit.generation import fit_run_density, load_run_density, model_fingerprint
from raekit.metrics import frechet_distance
from raekit.paper.run_scores import evaluate_run, normal_density
from raekit.runs import load_run
from raekit.training import train


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    config = make_config("digits", "rae-l2", "tiny", epochs=4)
    return train(config, tmp_path_factory.mktemp("runs") / "rae-l2")


def test_fit_density_saves_a_model_checked_density(run_dir):
    density, report = fit_run_density(run_dir, kind="gmm", components=5)
    assert report["n_train"] == 1257 and np.isfinite(report["valid_loglik"])
    loaded = load_run_density(run_dir, "gmm", components=5, fit_if_missing=False)
    assert np.array_equal(loaded.sample(3, seed=1), density.sample(3, seed=1))
    meta = json.loads((run_dir / "densities" / "gmm-5.json").read_text())["meta"]
    assert meta["model_fingerprint"] == model_fingerprint(load_run(run_dir)[0])


def test_two_stage_density_takes_the_runs_dataset_kl_weight(run_dir):
    from raekit.density.two_stage import OFFICIAL_KL_WEIGHTS

    density, _ = fit_run_density(run_dir, kind="two-stage", save=False, epochs=1)
    assert density.options["dataset"] == "digits"
    assert density.options["kl_weight"] == OFFICIAL_KL_WEIGHTS["digits"]


def test_evaluate_writes_the_table_rows(run_dir):
    result = evaluate_run(run_dir, features="classifier", n=200)
    saved = json.loads((run_dir / "eval.json").read_text())
    assert saved["fid"] == result["fid"] and set(result["fid"]) == {
        "rec",
        "gaussian",
        "gmm",
        "interp",
    }
    assert result["extractor"].startswith("classifier") and result["n"] == 200
    assert all(0 <= v["f8"] <= 1 and 0 <= v["f1_8"] <= 1 for v in result["prd"].values())
    assert result["fid"]["rec"] < result["fid"]["gaussian"]  # reconstructions beat samples
    assert set(result["valid_loglik"]) == {"gaussian", "gmm"} and all(
        np.isfinite(list(result["valid_loglik"].values()))
    )


def test_one_evaluate_command_loads_the_model_once(run_dir, tmp_path, monkeypatch, capsys):
    import raekit.runs

    calls = {"build": 0, "weights": 0}

    def counted(name, real):
        def call(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(
        raekit.runs, "build_from_config", counted("build", raekit.runs.build_from_config)
    )
    monkeypatch.setattr(raekit.runs, "load_weights", counted("weights", raekit.runs.load_weights))
    run = shutil.copytree(run_dir, tmp_path / "run", ignore=shutil.ignore_patterns("densities"))
    argv = ["evaluate", str(run), "--n", "40", "--densities", "gaussian,gmm"]
    assert main(argv) == 0  # fits both densities, then samples and scores them
    assert calls == {"build": 1, "weights": 1}
    fitted = sorted(p.name for p in (run / "densities").glob("*.json"))
    assert fitted == ["gaussian.json", "gmm.json"]


def test_normal_column_is_the_prior_for_vae_and_wae():
    from raekit.models import build_model

    assert (
        normal_density(build_model("vae")) == "prior"
        and normal_density(build_model("wae")) == "prior"
    )
    assert (
        normal_density(build_model("rae")) == "gaussian"
        and normal_density(build_model("2svae")) == "two-stage"
    )


@pytest.mark.parametrize(
    "command,out",
    [
        (["sample", "--density", "gmm", "--n", "16"], "s.png"),
        (["sample", "--n", "5"], "s.npz"),
        (["reconstruct", "--n", "6"], "r.png"),
        (["interpolate", "--pairs", "2", "--steps", "4"], "i.png"),
        (["neighbours", "--n", "3", "--k", "2"], "nn.png"),
    ],
)
def test_generation_commands(run_dir, tmp_path, capsys, command, out):
    assert main([command[0], str(run_dir), *command[1:], "--out", str(tmp_path / out)]) == 0
    assert (tmp_path / out).stat().st_size > 0
    if out.endswith(".npz"):
        assert np.load(tmp_path / out)["images"].shape == (5, 1, 32, 32)


def test_interpolate_about_the_mean_of_the_validation_codes(run_dir, tmp_path, capsys):
    from raekit.data import load_images
    from raekit.generation import encode_images, interpolate_images

    out = tmp_path / "i.npz"
    argv = ["interpolate", str(run_dir), "--pairs", "3", "--steps", "5", "--origin", "mean"]
    assert main([*argv, "--seed", "4", "--out", str(out)]) == 0
    model, config = load_run(run_dir)
    valid = load_images("digits").valid[: config.valid_limit]
    pick = np.random.default_rng(4).choice(len(valid), size=(3, 2))
    mean = encode_images(model, valid).mean(0)
    expected = interpolate_images(model, valid[pick[:, 0]], valid[pick[:, 1]], 5, "slerp", mean)
    np.testing.assert_allclose(np.load(out)["images"], expected, atol=1e-6)
    raw = interpolate_images(model, valid[pick[:, 0]], valid[pick[:, 1]], 5, "slerp")
    assert np.abs(raw - expected)[:, 1:-1].max() > 1e-3  # the midpoints move
    np.testing.assert_allclose(raw[:, [0, -1]], expected[:, [0, -1]], atol=1e-5)  # not the ends


@pytest.mark.parametrize(
    "argv,message",
    [
        (["fit-density", "{run}", "--density", "gmn"], "did you mean 'gmm'"),
        (["sample", "{run}", "--out", "x.jpg"], "must end in .png or .npz"),
        (["sample", "{tmp}", "--out", "x.png"], "not a raekit run"),
        (["fit-density", "{run}", "--components", "5000"], "fewer than the 5000 GMM components"),
        (["evaluate", "{run}", "--n", "1"], "at least 2"),
    ],
)
def test_bad_generation_input(run_dir, tmp_path, capsys, argv, message):
    argv = [a.format(run=run_dir, tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_fid_of_a_set_with_itself_is_zero(rng):
    x = rng.normal(size=(300, 8))
    assert abs(frechet_distance(x, x)) < 1e-6
