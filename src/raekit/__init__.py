"""raekit: deterministic generative autoencoders (Ghosh et al., ICLR 2020).

    model = raekit.build_model("rae-l2", dataset="mnist", preset="paper")
    run_dir = raekit.train(raekit.make_config("mnist", "rae-l2", "cpu"), "runs/rae-l2")
    model, config = raekit.load_run(run_dir)
"""
import importlib

from raekit.config import RunConfig, make_config
from raekit.errors import RaekitError

__version__ = "0.1.0"

# Public name -> module; imported on first use so `import raekit` stays light.
_LAZY = {"build_model": "raekit.models", "VARIANTS": "raekit.models", "train": "raekit.train",
         "load_run": "raekit.runs"}
__all__ = ["RaekitError", "RunConfig", "make_config", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'raekit' has no attribute {name!r}")
