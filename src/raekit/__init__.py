"""raekit: deterministic generative autoencoders (Ghosh et al., ICLR 2020).

```python
model = raekit.build_model("rae-l2", dataset="mnist", preset="paper")
run_dir = raekit.train(raekit.make_config("mnist", "rae-l2", "cpu"), "runs/rae-l2")
model, config = raekit.load_run(run_dir)
run_dir = raekit.train(raekit.make_config(model="rae-l2", preset="tiny"), "runs/mine", data="pngs/")
```
"""

from raekit.config import RunConfig, make_config
from raekit.data.own import read_own_images as read_images
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
    "read_images",
    "train",
]
