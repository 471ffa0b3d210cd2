"""The command line: bad input gives one clear line and exit code 2, runs are never lost."""

import subprocess
import sys

import pytest

from raekit.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    "argv,message",
    [
        (
            ["train", "--dataset", "digits", "--model", "rea-l2", "--out", "X"],
            "did you mean 'rae-l2'",
        ),
        (["train", "--dataset", "mnsit", "--out", "X"], "did you mean 'mnist'"),
        (
            ["train", "--dataset", "digits", "--preset", "fast", "--out", "X"],
            "unknown preset 'fast'",
        ),
        (["train", "--dataset", "digits", "--out", "X", "--set", "wdth=2"], "did you mean 'width'"),
        (["train", "--dataset", "digits", "--out", "X", "--set", "epochs=many"], "expects int"),
        (
            ["train", "--dataset", "digits", "--out", "X", "--set", "novalue"],
            "--set expects key=value",
        ),
        (["train", "--out", "nowhere", "--resume"], "is not a raekit run"),
    ],
)
def test_bad_train_input_is_one_line_and_exit_2(capsys, tmp_path, argv, message):
    argv = [a if a not in ("X", "nowhere") else str(tmp_path / a) for a in argv]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("raekit: error: ") and message in err


def test_train_then_resume_refuses_architecture_changes(capsys, tmp_path):
    out = str(tmp_path / "run")
    code, stdout, _ = run_cli(
        capsys,
        "train",
        "--dataset",
        "digits",
        "--model",
        "ae",
        "--preset",
        "tiny",
        "--epochs",
        "1",
        "--out",
        out,
    )
    assert code == 0 and "trained ae on digits" in stdout
    config_before = (tmp_path / "run" / "config.yaml").read_text()
    code, _, err = run_cli(capsys, "train", "--out", out, "--resume", "--set", "width=0.5")
    assert code == 2 and "width cannot change" in err
    assert (tmp_path / "run" / "config.yaml").read_text() == config_before
    code, _, err = run_cli(capsys, "train", "--dataset", "digits", "--model", "ae", "--out", out)
    assert code == 2 and "already holds a run" in err
    code, stdout, _ = run_cli(capsys, "train", "--out", out, "--resume", "--epochs", "2")
    assert code == 0 and "epoch 2/2" in stdout


def test_python_dash_m_raekit_help_lists_the_commands():
    result = subprocess.run(
        [sys.executable, "-m", "raekit", "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0
    for command in ("train", "fetch", "fit-density", "sample", "evaluate", "reproduce", "demo"):
        assert command in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["train", "--dataset", "digits", "--out", "X"],
        ["reproduce", "--out", "X"],
        ["grammar-train", "--task", "expressions", "--model", "grae", "--out", "X"],
    ],
)
def test_repeated_set_options_accumulate(command):
    """`--set a=1 --set b=2` keeps both, as `--set a=1 b=2` does."""
    from raekit.cli import build_parser

    args = build_parser().parse_args(
        command + ["--set", "epochs=1", "--set", "width=0.5", "seed=3"]
    )
    assert args.set == ["epochs=1", "width=0.5", "seed=3"]


_HELP_IMPORTS = """
import sys
from raekit.cli import main
try:
    main(sys.argv[1:] + ["--help"])
except SystemExit as stop:
    assert stop.code == 0, stop.code
print("loaded:", *sorted(m for m in ("torch", "numpy", "scipy") if m in sys.modules))
"""


@pytest.mark.parametrize("argv", [[], ["train"], ["sample"], ["evaluate"], ["fid"]])
def test_help_starts_without_torch_or_numpy(argv):
    """`raekit --help` (and a command's) loads neither torch nor numpy: help comes at once."""
    result = subprocess.run(
        [sys.executable, "-c", _HELP_IMPORTS, *argv], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == "loaded:", result.stdout[-300:] + result.stderr
    assert "usage: raekit" in result.stdout


_EXTRAS = ("nltk", "rdkit", "botorch", "gpytorch", "mlflow", "wandb", "tensorboard")
_IMAGE_PATH_IMPORTS = f"""
import sys
import raekit, raekit.cli, raekit.models, raekit.runs, raekit.generation, raekit.metrics
import raekit.paper.demo, raekit.paper.reproduce, raekit.paper.export, raekit.training
from raekit.commands import demo, evaluate, fetch, fid, generate, train
raekit.build_model("rae-l2", dataset="digits", preset="tiny")
print("loaded:", *sorted(m for m in {_EXTRAS!r} if m in sys.modules))
"""


def test_image_models_import_no_optional_extra():
    """The base install (no grammar or track extra) trains, evaluates and runs the demo: nothing
    on the image path imports nltk, rdkit, botorch or a tracker at module level."""
    result = subprocess.run(
        [sys.executable, "-c", _IMAGE_PATH_IMPORTS], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == "loaded:", result.stdout[-300:] + result.stderr


def test_config_file_then_set_then_options(capsys, tmp_path, one_thread):
    """--config gives the values, --set and --epochs replace them; a run's own config.yaml given
    back trains the same config."""
    import yaml

    (tmp_path / "my.yaml").write_text(
        "dataset: digits\nmodel: vae\npreset: tiny\nepochs: 3\nbeta: 0.5\ntrain_limit: 200\n"
        "lambda: 0.002\n"
    )
    first = str(tmp_path / "first")
    argv = ["train", "--config", str(tmp_path / "my.yaml"), "--out", first]
    code, out, err = run_cli(capsys, *argv, "--set", "beta=0.25", "--epochs", "1")
    assert code == 0, err
    config = yaml.safe_load((tmp_path / "first" / "config.yaml").read_text())
    assert (config["dataset"], config["model"], config["preset"]) == ("digits", "vae", "tiny")
    assert (config["beta"], config["epochs"], config["train_limit"]) == (0.25, 1, 200)
    assert config["lam"] == 0.002
    again = str(tmp_path / "again")
    code, _, err = run_cli(
        capsys, "train", "--config", str(tmp_path / "first" / "config.yaml"), "--out", again
    )
    assert code == 0, err
    assert (tmp_path / "again" / "config.yaml").read_text() == (
        tmp_path / "first" / "config.yaml"
    ).read_text()
    # An option on the command line wins over the file's value.
    code, _, err = run_cli(
        capsys, "train", "--config", str(tmp_path / "my.yaml"), "--model", "ae", "--epochs", "1",
        "--out", str(tmp_path / "ae"),
    )  # fmt: skip
    assert (
        code == 0 and yaml.safe_load((tmp_path / "ae" / "config.yaml").read_text())["model"] == "ae"
    )


def test_reproduce_reads_a_config_file(tmp_path, monkeypatch):
    from raekit.commands import evaluate

    seen = {}

    def fake(dataset, preset, out, models, **kwargs):
        seen.update(dataset=dataset, preset=preset, models=models, **kwargs)
        raise SystemExit(0)

    monkeypatch.setattr("raekit.paper.reproduce.reproduce", fake)
    (tmp_path / "my.yaml").write_text("dataset: digits\npreset: tiny\nepochs: 2\nbeta: 0.5\n")
    with pytest.raises(SystemExit):
        main(["reproduce", "--config", str(tmp_path / "my.yaml"), "--out", str(tmp_path / "r"),
              "--models", "ae,vae", "--set", "epochs=1"])  # fmt: skip
    assert (seen["dataset"], seen["preset"], seen["models"]) == ("digits", "tiny", ["ae", "vae"])
    assert seen["overrides"] == {"epochs": "1", "beta": 0.5}
    assert evaluate.REPRODUCE_EPILOG.startswith("examples:")
