import io
import time

import numpy as np
import pytest

from raekit.io import progress as progress_module
from raekit.io.progress import progress


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_non_terminal_prints_lines_at_the_interval(monkeypatch):
    monkeypatch.setattr(progress_module, "INTERVAL", 0.05)
    stream = io.StringIO()
    for _ in progress(range(6), desc="EM", unit="iter", stream=stream, enabled=True):
        time.sleep(0.03)
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert 2 <= len(lines) <= 6  # every ~2 iterations, never one per redraw
    assert all(line.startswith("EM:") for line in lines)
    assert "6/6" in lines[-1] and sum("6/6" in line for line in lines) == 1


def test_short_step_on_non_terminal_is_silent():
    stream = io.StringIO()
    assert list(progress(range(3), desc="quick", stream=stream, enabled=True)) == [0, 1, 2]
    assert stream.getvalue() == ""


def test_terminal_gets_a_bar_and_disabled_gets_nothing(monkeypatch):
    term = FakeTerminal()
    assert sum(progress(range(4), desc="bar", stream=term, enabled=True)) == 6
    assert "bar:" in term.getvalue() and "\r" in term.getvalue()
    quiet = FakeTerminal()
    list(progress(range(4), desc="bar", stream=quiet, enabled=False))
    assert quiet.getvalue() == ""


@pytest.mark.parametrize(
    "env,expected",
    [({}, True), ({"RANK": "1"}, False), ({"RANK": "0"}, True), ({"RAEKIT_PROGRESS": "0"}, False)],
)
def test_default_enabled(monkeypatch, env, expected):
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("RAEKIT_PROGRESS", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert progress_module.default_enabled() is expected


def test_em_reports_its_iterations(monkeypatch, capsys, rng):
    # A slow step is simulated by a zero interval: EM's iterations show up on stderr as lines.
    monkeypatch.setattr(progress_module, "INTERVAL", 0.0)
    monkeypatch.delenv("RAEKIT_PROGRESS", raising=False)
    from raekit.density.gmm import GMMDensity

    codes = np.concatenate([rng.normal(-3, 1, (200, 2)), rng.normal(3, 1, (200, 2))])
    GMMDensity(components=2).fit(codes)
    err = capsys.readouterr().err
    assert "GMM EM, 2 components" in err and "iter" in err
