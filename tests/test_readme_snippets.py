"""Every ```python block of README.md runs, each in a fresh interpreter on the tree under test.

The blocks are fragments of a session: they use names and files that the prose or an earlier
shell block provides (`x`, `model`, a run directory, a codes file). PRELUDES provides them, cheaply
(digits instead of MNIST, one epoch), before the block's own lines; REPLACEMENTS changes one
exact line of a block where running it as written would take minutes (the replaced text must
still be in the block, so a README edit shows here); SKIPS names blocks that are not run at all,
with the reason. All three are keyed by the block's first line and reported in the test ids.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

_RUN_DIGITS = """
    import raekit
    _config = raekit.make_config("digits", "rae-l2", "tiny", epochs=1)
    raekit.train(_config, "runs/mnist-rae-l2")   # for `raekit train ... --out runs/mnist-rae-l2`
    model, _ = raekit.load_run("runs/mnist-rae-l2")
"""
PRELUDES = {
    # "Python:" under Training: `x` is a batch of images.
    "import raekit": """
        import torch
        x = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    """,
    # The streaming GMM reads RUN/codes/train.npy, written by `fit-density --stream`: 3 clusters.
    "from raekit.density.streaming import fit_gmm_streaming": """
        import os
        import numpy as np
        _rng = np.random.default_rng(0)
        os.makedirs("runs/ddp/codes")
        _centres = _rng.normal(scale=5.0, size=(10, 4))
        np.save("runs/ddp/codes/train.npy", (_centres[_rng.integers(0, 10, 3000)]
                                             + _rng.normal(size=(3000, 4))).astype(np.float32))
    """,
    # Densities are fitted on a trained run, and `model` is its model.
    "from raekit.generation import fit_density, sample_images, interpolate_images": _RUN_DIGITS,
}
_OWN_IMAGES = """
    import os
    import numpy as np
    from PIL import Image
    _rng = np.random.default_rng(0)
    _images = _rng.integers(0, 50, size=(40, 30, 30), dtype=np.uint8)
    for _i in range(40):
        _images[_i, 5 + _i % 15 : 12 + _i % 15, 4:26] = 230
    os.makedirs("my_pngs/part", exist_ok=True)
    for _i, _image in enumerate(_images):
        Image.fromarray(_image).save(f"my_pngs/{'part/' if _i % 2 else ''}{_i}.png")
    np.save("my_images.npy", _images)
"""
PRELUDES["import numpy as np"] = _OWN_IMAGES
# (block's first line) -> (line as in the README, line run instead, why)
REPLACEMENTS = {
    "import raekit": (
        'config = raekit.make_config("mnist", "rae-l2", "cpu", epochs=5)',
        'config = raekit.make_config("digits", "rae-l2", "tiny", epochs=1)',
        "5 MNIST epochs at the cpu preset take minutes and need the MNIST download",
    ),
    "import numpy as np": (
        'config = raekit.make_config(model="rae-l2", preset="cpu")',
        'config = raekit.make_config(model="rae-l2", preset="tiny", epochs=1, batch_size=8)',
        "8 epochs at the cpu preset take minutes",
    ),
}
# (block's first line) -> why it is not run
SKIPS: dict[str, str] = {
    "from raekit.paper.evaluate import evaluate_run": "Inception features of a run's images "
    "take more CPU than a snippet may; tests/test_own_data_cli.py evaluates such a run",
}


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line number of the opening fence, code) of each ```python block."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if re.fullmatch(r"\s*```python\s*", lines[i]):
            start, body = i + 1, []
            i += 1
            while i < len(lines) and not re.fullmatch(r"\s*```\s*", lines[i]):
                body.append(lines[i])
                i += 1
            assert i < len(lines), f"README.md:{start}: ```python block is never closed"
            blocks.append((start, textwrap.dedent("\n".join(body)) + "\n"))
        i += 1
    return blocks


BLOCKS = python_blocks(README.read_text())


def _first_line(code: str) -> str:
    return next(line.strip() for line in code.splitlines() if line.strip())


def _id(block):
    line, code = block
    tag = " (skipped)" if _first_line(code) in SKIPS else ""
    return f"README.md:{line}{tag}"


def test_readme_has_python_blocks_and_the_tables_match_them():
    assert BLOCKS, "README.md has no ```python block"
    firsts = [_first_line(code) for _, code in BLOCKS]
    assert len(set(firsts)) == len(firsts), "two blocks share a first line: key them differently"
    for table in (PRELUDES, REPLACEMENTS, SKIPS):
        stale = set(table) - set(firsts)
        assert not stale, f"no README block starts with {sorted(stale)}"


def test_python_block_parser(tmp_path):
    text = (
        "intro\n```python\nimport a\n  b = 1\n```\n```bash\nls\n```\n  ```python\n  x = 2\n  ```\n"
    )
    assert python_blocks(text) == [(2, "import a\n  b = 1\n"), (9, "x = 2\n")]


@pytest.mark.parametrize("block", BLOCKS, ids=_id)
def test_readme_python_block_runs(block, tmp_path):
    line, code = block
    first = _first_line(code)
    if first in SKIPS:
        pytest.skip(f"README.md:{line}: {SKIPS[first]}")
    if first in REPLACEMENTS:
        old, new, _ = REPLACEMENTS[first]
        assert old in code, f"README.md:{line}: the block no longer has the line {old!r}"
        code = code.replace(old, new)
    script = textwrap.dedent(PRELUDES.get(first, "")) + "\n# ---- README.md block\n" + code
    (tmp_path / "snippet.py").write_text(script)
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "RAEKIT_PROGRESS": "0",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    started, cpu_before = time.perf_counter(), _children_cpu()
    # Generous wall-clock limit: on a loaded machine the wall time is many times the CPU time.
    result = subprocess.run(
        [sys.executable, "snippet.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
    assert result.returncode == 0, (
        f"README.md:{line}: the ```python block exits {result.returncode} after {seconds:.0f} s\n"
        f"{result.stderr[-3000:]}"
    )
    print(f"README.md:{line}: ran in {cpu:.1f} s of CPU ({seconds:.1f} s wall)")
    assert cpu < 60, f"README.md:{line}: the block and its prelude took {cpu:.0f} s of CPU"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
