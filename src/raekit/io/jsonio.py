"""JSON that raekit writes is always valid JSON: NaN and infinities become null, numpy values plain."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from raekit.io.atomic import atomic_write_text


def sanitise(value: Any) -> Any:
    """`value` with every non-finite float replaced by None and numpy scalars / arrays made plain."""
    if isinstance(value, dict):
        return {str(k): sanitise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [sanitise(v) for v in value]
    np = sys.modules.get("numpy")  # numpy values exist only once numpy is imported
    if np is not None and isinstance(value, np.ndarray):
        return sanitise(value.tolist())
    if np is not None and isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """json.dumps of the sanitised value; anything JSON cannot hold fails here, not in a reader."""
    return json.dumps(sanitise(value), allow_nan=False, **{"indent": 2, **kwargs})


def read_json_object(path: str | os.PathLike) -> dict | None:
    """The JSON object in ``path``; None when the file is missing, damaged or not an object."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def write_json(path: str | os.PathLike, value: Any, **kwargs: Any) -> None:
    """Write `value` as JSON, atomically."""

    atomic_write_text(path, dumps(value, **kwargs) + "\n")
