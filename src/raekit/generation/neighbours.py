"""Nearest training images of generated samples, in pixel space (Appendix G)."""

from __future__ import annotations

import numpy as np
import torch

from raekit.errors import RaekitError


def _flat(images, name: str, dtype: torch.dtype) -> torch.Tensor:
    array = torch.as_tensor(np.asarray(images), dtype=dtype)
    if array.ndim < 2 or len(array) == 0:
        raise RaekitError(
            f"{name} must be a non-empty (N, ...) array of images, got shape {tuple(array.shape)}"
        )
    return array.flatten(1)


@torch.no_grad()
def nearest_neighbours(
    queries, reference, k: int = 1, batch: int = 2048, dtype: torch.dtype = torch.float64
) -> tuple[np.ndarray, np.ndarray]:
    """(indices (n, k), squared Euclidean distances (n, k)) of each query's k nearest references.

    Images are flattened ((N, C, H, W) or (N, D)); distances are ||a||^2 - 2 a.b + ||b||^2,
    clamped at 0 against rounding, over `batch` x `batch` blocks so memory stays bounded; float64
    by default, so the ranking equals an exact search. Closest first, ties to the lower index; the
    returned distances are recomputed directly for the k winners.
    """
    q, r = _flat(queries, "queries", dtype), _flat(reference, "reference", dtype)
    if q.shape[1] != r.shape[1]:
        raise RaekitError(
            f"queries have {q.shape[1]} values each, the reference images {r.shape[1]}"
        )
    if not 1 <= int(k) <= len(r):
        raise RaekitError(f"k must be between 1 and the {len(r)} reference images, got {k}")
    if int(batch) < 1:
        raise RaekitError(f"batch must be at least 1, got {batch}")
    k, batch = int(k), int(batch)
    r_norm = r.square().sum(1)
    indices, distances = [], []
    for q_block in q.split(batch):
        best_d = torch.full((len(q_block), k), float("inf"), dtype=dtype)
        best_i = torch.zeros((len(q_block), k), dtype=torch.long)
        q_norm = q_block.square().sum(1, keepdim=True)
        for start in range(0, len(r), batch):
            block = r[start : start + batch]
            d = torch.addmm(
                q_norm + r_norm[start : start + batch], q_block, block.T, alpha=-2
            ).clamp_min_(0)
            # Earlier candidates come first, so a stable sort keeps ties at the lower index.
            d_all = torch.cat([best_d, d], 1)
            i_all = torch.cat(
                [best_i, torch.arange(start, start + len(block)).expand(len(q_block), -1)], 1
            )
            order = torch.sort(d_all, dim=1, stable=True).indices[:, :k]
            best_d, best_i = d_all.gather(1, order), i_all.gather(1, order)
        indices.append(best_i)
        # Report distances summed directly over the k winners: exact, so an exact copy is at 0.
        distances.append((q_block[:, None] - r[best_i]).square().sum(-1))
    return torch.cat(indices).numpy(), torch.cat(distances).numpy()
