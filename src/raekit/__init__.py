"""raekit: deterministic generative autoencoders (Ghosh et al., ICLR 2020).

```python
model = raekit.build_model("rae-l2", dataset="mnist", preset="paper")
run_dir = raekit.train(raekit.make_config("mnist", "rae-l2", "cpu"), "runs/rae-l2")
model, config = raekit.load_run(run_dir)
run = raekit.Run.of(run_dir)  # model, data and densities loaded on first use, then kept
run_dir = raekit.train(raekit.make_config(model="rae-l2", preset="tiny"), "runs/mine", data="pngs/")
```

The names below are loaded when first used, so that `raekit --help` starts without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> (module, name there)
_EXPORTS = {
    "RaekitError": ("raekit.errors", "RaekitError"),
    "Run": ("raekit.runs", "Run"),
    "RunConfig": ("raekit.config", "RunConfig"),
    "make_config": ("raekit.config", "make_config"),
    "VARIANTS": ("raekit.config.variants", "VARIANTS"),
    "read_images": ("raekit.data.own", "read_own_images"),
    "build_model": ("raekit.models", "build_model"),
    "load_run": ("raekit.runs", "load_run"),
    "train": ("raekit.training", "train"),
}
__all__ = [
    "RaekitError",
    "Run",
    "RunConfig",
    "VARIANTS",
    "build_model",
    "load_run",
    "make_config",
    "read_images",
    "train",
]

if TYPE_CHECKING:
    from raekit.config import RunConfig, make_config
    from raekit.config.variants import VARIANTS
    from raekit.data.own import read_own_images as read_images
    from raekit.errors import RaekitError
    from raekit.models import build_model
    from raekit.runs import Run, load_run
    from raekit.training import train


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'raekit' has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
