"""Nearest training images of generated samples, in pixel space (Appendix G)."""
from __future__ import annotations

import numpy as np
import torch

from raekit.errors import RaekitError


@torch.no_grad()
def nearest_neighbours(queries, reference, k: int = 1, batch: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(indices (n, k), squared Euclidean distances (n, k)) of each query's k nearest references."""
    q = torch.as_tensor(np.asarray(queries), dtype=torch.float32).flatten(1)
    r = torch.as_tensor(np.asarray(reference), dtype=torch.float32).flatten(1)
    if q.shape[1] != r.shape[1]:
        raise RaekitError(f"queries have {q.shape[1]} values each, the reference images {r.shape[1]}")
    if not 1 <= k <= len(r):
        raise RaekitError(f"k must be between 1 and {len(r)}, got {k}")
    q_norm = q.pow(2).sum(1, keepdim=True)
    best_d = torch.full((len(q), k), float("inf"))
    best_i = torch.zeros((len(q), k), dtype=torch.long)
    for start in range(0, len(r), batch):
        chunk = r[start:start + batch]
        d = (q_norm - 2 * q @ chunk.T + chunk.pow(2).sum(1)).clamp_min_(0)
        d_all = torch.cat([best_d, d], 1)
        i_all = torch.cat([best_i, torch.arange(start, start + len(chunk)).expand(len(q), -1)], 1)
        best_d, pos = d_all.topk(k, dim=1, largest=False)
        best_i = i_all.gather(1, pos)
    return best_i.numpy(), best_d.numpy()
