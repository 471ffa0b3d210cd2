"""raekit: deterministic generative autoencoders (Ghosh et al., ICLR 2020).

```python
model = raekit.build_model("rae-l2", dataset="mnist", preset="paper")
run_dir = raekit.train(raekit.make_config("mnist", "rae-l2", "cpu"), "runs/rae-l2")
model, config = raekit.load_run(run_dir)
```
"""

from raekit.config import RunConfig, make_config
from raekit.errors import RaekitError
from raekit.models import VARIANTS, build_model
from raekit.runs import load_run
from raekit.training import train

__version__ = "0.1.0"
__all__ = [
    "RaekitError",
    "RunConfig",
    "VARIANTS",
    "build_model",
    "load_run",
    "make_config",
    "train",
]
