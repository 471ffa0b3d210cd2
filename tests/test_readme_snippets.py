"""Every ```python block of README.md and of the documentation pages (docs/**/*.md) runs, each in
a fresh interpreter on the tree under test.

The blocks are fragments of a session: they use names and files that the prose or an earlier
shell block provides (`x`, `model`, a run directory, a codes file). PRELUDES provides them, cheaply
(digits instead of MNIST, one epoch), before the block's own lines; REPLACEMENTS changes one
exact line of a block where running it as written would take minutes (the replaced text must
still be in the block, so a documentation edit shows here); SKIPS names blocks that are not run at
all, with the reason. All three are keyed by (page, the block's first line) and reported in the
test ids.
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
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

_RUN_DIGITS = """
    import raekit
    _config = raekit.make_config("digits", "rae-l2", "tiny", epochs=1)
    raekit.train(_config, "runs/mnist-rae-l2")   # for `raekit train ... --out runs/mnist-rae-l2`
    model, _ = raekit.load_run("runs/mnist-rae-l2")
"""
# `x` is a batch of images.
_BATCH = """
    import torch
    x = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(0))
"""
# The streaming GMM reads RUN/codes/train.npy, written by `fit-density --stream`: 3 clusters.
_CODES = """
    import os
    import numpy as np
    _rng = np.random.default_rng(0)
    os.makedirs("runs/ddp/codes")
    _centres = _rng.normal(scale=5.0, size=(10, 4))
    np.save("runs/ddp/codes/train.npy", (_centres[_rng.integers(0, 10, 3000)]
                                         + _rng.normal(size=(3000, 4))).astype(np.float32))
"""
_TRAINING = "import raekit"
_STREAMING = "from raekit.density.streaming import fit_gmm_streaming"
_GENERATION = "from raekit.generation import fit_run_density, sample_images, interpolate_images"
PRELUDES = {
    ("docs/training.md", _TRAINING): _BATCH,
    ("docs/distributed.md", _STREAMING): _CODES,
    # Densities are fitted on a trained run, and `model` is its model.
    ("docs/densities.md", _GENERATION): _RUN_DIGITS,
}
# Own images: a folder of PNGs (in two levels) and the same images as an .npy array.
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
_OWN = "import numpy as np"
PRELUDES[("docs/own-images.md", _OWN)] = _OWN_IMAGES
# `raekit train ... --track mlflow` run in the folder the block then reads MLflow's store from.
PRELUDES[("docs/tracking.md", "import mlflow")] = """
    import os
    import raekit
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    _config = raekit.make_config("digits", "rae-l2", "tiny", epochs=1, train_limit=200)
    raekit.train(_config, "runs/ml", track="mlflow")
"""
_FIVE_EPOCHS = (
    'config = raekit.make_config("mnist", "rae-l2", "cpu", epochs=5)',
    'config = raekit.make_config("digits", "rae-l2", "tiny", epochs=1)',
    "5 MNIST epochs at the cpu preset take minutes and need the MNIST download",
)
# (page, block's first line) -> (line as on the page, line run instead, why)
REPLACEMENTS = {
    ("docs/training.md", _TRAINING): _FIVE_EPOCHS,
    ("README.md", _TRAINING): _FIVE_EPOCHS,
    ("docs/own-images.md", _OWN): (
        'config = raekit.make_config(model="rae-l2", preset="cpu")',
        'config = raekit.make_config(model="rae-l2", preset="tiny", epochs=1, batch_size=8)',
        "8 epochs at the cpu preset take minutes",
    ),
}
# (page, block's first line) -> why it is not run
SKIPS: dict[tuple[str, str], str] = {
    ("docs/own-images.md", "from raekit.paper.run_scores import evaluate_run"): "Inception "
    "features of a "
    "run's images take more CPU than a block may; tests/test_own_data_cli.py evaluates such a run",
}


def python_blocks(text: str, page: str = "page") -> list[tuple[int, str]]:
    """(line number of the opening fence, code) of each ```python block."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if re.fullmatch(r"\s*```python\s*", lines[i]):
            start, body = i + 1, []
            i += 1
            while i < len(lines) and not re.fullmatch(r"\s*```\s*", lines[i]):
                body.append(lines[i])
                i += 1
            assert i < len(lines), f"{page}:{start}: ```python block is never closed"
            blocks.append((start, textwrap.dedent("\n".join(body)) + "\n"))
        i += 1
    return blocks


def _page_blocks() -> list[tuple[str, int, str]]:
    """(page relative to the root, line, code) of every ```python block of every page."""
    found = []
    for path in PAGES:
        page = path.relative_to(ROOT).as_posix()
        found += [(page, line, code) for line, code in python_blocks(path.read_text(), page)]
    return found


BLOCKS = _page_blocks()


def _first_line(code: str) -> str:
    return next(line.strip() for line in code.splitlines() if line.strip())


def _key(block) -> tuple[str, str]:
    page, _, code = block
    return page, _first_line(code)


def _id(block):
    page, line, _ = block
    tag = " (skipped)" if _key(block) in SKIPS else ""
    return f"{page}:{line}{tag}"


def test_pages_have_python_blocks_and_the_tables_match_them():
    assert any(page == "README.md" for page, _, _ in BLOCKS), "README.md has no ```python block"
    assert any(page.startswith("docs/") for page, _, _ in BLOCKS), "docs/ has no ```python block"
    keys = [_key(block) for block in BLOCKS]
    assert len(set(keys)) == len(keys), "two blocks of one page share a first line: key them apart"
    for table in (PRELUDES, REPLACEMENTS, SKIPS):
        stale = set(table) - set(keys)
        assert not stale, f"no block starts with {sorted(stale)}"


def test_python_block_parser(tmp_path):
    text = (
        "intro\n```python\nimport a\n  b = 1\n```\n```bash\nls\n```\n  ```python\n  x = 2\n  ```\n"
    )
    assert python_blocks(text) == [(2, "import a\n  b = 1\n"), (9, "x = 2\n")]


@pytest.mark.parametrize("block", BLOCKS, ids=_id)
def test_python_block_runs(block, tmp_path):
    page, line, code = block
    key, where = _key(block), f"{page}:{line}"
    if key in SKIPS:
        pytest.skip(f"{where}: {SKIPS[key]}")
    if key in REPLACEMENTS:
        old, new, _ = REPLACEMENTS[key]
        assert old in code, f"{where}: the block no longer has the line {old!r}"
        code = code.replace(old, new)
    script = textwrap.dedent(PRELUDES.get(key, "")) + f"\n# ---- {where}\n" + code
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
        f"{where}: the ```python block exits {result.returncode} after {seconds:.0f} s\n"
        f"{result.stderr[-3000:]}"
    )
    print(f"{where}: ran in {cpu:.1f} s of CPU ({seconds:.1f} s wall)")
    assert cpu < 60, f"{where}: the block and its prelude took {cpu:.0f} s of CPU"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
