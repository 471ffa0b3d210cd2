import os
import stat

import pytest

from raekit.io.atomic import atomic_write_text, current_umask


@pytest.fixture
def umask():
    before = os.umask(0o022)
    os.umask(before)

    def set_mask(mask):
        os.umask(mask)

    yield set_mask
    os.umask(before)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077, 0o027])
def test_atomic_write_gets_umask_mode(tmp_path, umask, mask):
    umask(mask)
    assert current_umask() == mask
    target = tmp_path / "report.html"
    atomic_write_text(target, "<p>hi</p>")
    # The same mode a plain open() gives under this umask.
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert (
        stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask == stat.S_IMODE(plain.stat().st_mode)
    )
    assert target.read_text() == "<p>hi</p>"


def test_atomic_replace_keeps_no_temporary(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "a.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
