"""Interpolation between latent codes: spherical (slerp) and linear."""
from __future__ import annotations

import numpy as np


def lerp(z0, z1, t) -> np.ndarray:
    """(n, d), (n, d), (steps,) -> (n, steps, d): z0 + t (z1 - z0)."""
    z0, z1, t = np.asarray(z0, float), np.asarray(z1, float), np.asarray(t, float)
    return z0[:, None] + t[None, :, None] * (z1 - z0)[:, None]


def slerp(z0, z1, t, eps: float = 1e-7) -> np.ndarray:
    """Spherical interpolation (n, steps, d): constant angular speed, norms blended linearly.

    The direction moves along the great circle between z0 and z1 while the norm goes linearly
    from |z0| to |z1|. Where a code is zero, or the two are (anti)parallel, the great circle is
    undefined and the result falls back to linear interpolation: never NaN.
    """
    z0, z1, t = np.asarray(z0, float), np.asarray(z1, float), np.asarray(t, float)
    n0, n1 = np.linalg.norm(z0, axis=1), np.linalg.norm(z1, axis=1)
    out = lerp(z0, z1, t)
    ok = (n0 > eps) & (n1 > eps)
    u0 = np.divide(z0, n0[:, None], out=np.zeros_like(z0), where=ok[:, None])
    u1 = np.divide(z1, n1[:, None], out=np.zeros_like(z1), where=ok[:, None])
    cos = np.clip((u0 * u1).sum(1), -1.0, 1.0)
    omega = np.arccos(cos)
    ok &= np.sin(omega) > eps
    if ok.any():
        w, s = omega[ok, None], np.sin(omega[ok, None])
        a, b = np.sin((1 - t[None]) * w) / s, np.sin(t[None] * w) / s  # (m, steps)
        direction = a[..., None] * u0[ok, None] + b[..., None] * u1[ok, None]
        norm = (1 - t[None]) * n0[ok, None] + t[None] * n1[ok, None]
        out[ok] = direction * norm[..., None]
    return out


def midpoints(z0, z1, method: str = "slerp") -> np.ndarray:
    """(n, d) midpoints, as the paper's interpolation FID uses."""
    return (slerp if method == "slerp" else lerp)(z0, z1, np.array([0.5]))[:, 0]
