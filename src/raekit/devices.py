"""Which torch device raekit computes on.

`auto` (the default) picks CUDA when torch sees a GPU, then Apple's MPS, else the CPU. A command's
`--device` applies to everything that command computes (the model, feature extractors, densities
trained with torch) through `use_device`; without it, training follows the run's `device` setting
and every other command `auto`.
"""

from __future__ import annotations

import contextlib

import torch

from raekit.config.rules import is_device_name
from raekit.errors import RaekitError

AUTO = "auto"
_chosen: list[str] = []  # the innermost use_device() name, if any


def best_available() -> torch.device:
    """CUDA if available, then MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def check_device(name: str) -> torch.device:
    """The torch device `name` names (auto resolved), refused clearly when this machine lacks it."""
    if not is_device_name(name):
        raise RaekitError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N, mps or xpu")
    if name == AUTO:
        return best_available()
    want = torch.device(name)
    available = {
        "cpu": lambda: True,
        "cuda": torch.cuda.is_available,
        "mps": lambda: torch.backends.mps.is_available(),
    }.get(want.type, lambda: False)
    if not available():
        raise RaekitError(
            f"device {name!r} is not available here (this torch build or machine has no "
            f"{want.type.upper()}); use --device auto or --device cpu"
        )
    if want.type == "cuda" and want.index is not None and want.index >= torch.cuda.device_count():
        raise RaekitError(
            f"device {name!r} is not available: {torch.cuda.device_count()} CUDA device(s)"
        )
    return want


def compute_device(configured: str | None = None) -> torch.device:
    """The device to compute on: the active `use_device` name, else `configured`, else auto."""
    return check_device(_chosen[-1] if _chosen else (configured or AUTO))


@contextlib.contextmanager
def use_device(name: str | None):
    """Within the block, compute on `name` (checked now); None leaves the choice unchanged."""
    if name is None:
        yield
        return
    check_device(name)
    _chosen.append(name)
    try:
        yield
    finally:
        _chosen.pop()


def module_device(module: torch.nn.Module) -> torch.device:
    """Where a module's parameters (else buffers) live; the CPU for a module with neither."""
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device("cpu")
