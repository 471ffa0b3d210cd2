"""Interpolation between latent codes: spherical (slerp, as in the paper's evaluation) and linear.

slerp(z0, z1, t) = sin((1 - t) W) / sin W * z0 + sin(t W) / sin W * z1, with W the angle between z0
and z1 (Shoemake's formula on the raw codes, as the official RAE code applies it). Where W is
undefined or the formula is singular (a zero code, parallel or anti-parallel codes) the path falls
back to linear interpolation, which is also the formula's limit as W -> 0, so nothing is ever NaN.
"""

from __future__ import annotations

import numpy as np

from raekit.config.generation import INTERPOLATIONS as METHODS
from raekit.errors import RaekitError


def _inputs(z0, z1, t) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """float64 (n, d) pairs and (steps,) fractions; single (d,) codes are promoted to n = 1."""
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    t = np.atleast_1d(np.asarray(t, np.float64))
    single = z0.ndim == 1
    z0, z1 = np.atleast_2d(z0), np.atleast_2d(z1)
    if z0.shape != z1.shape or z0.ndim != 2:
        raise RaekitError(
            f"interpolation needs two (n, d) arrays of one shape, got {z0.shape} and {z1.shape}"
        )
    if t.ndim != 1:
        raise RaekitError(f"interpolation fractions t must be a 1-D array, got shape {t.shape}")
    return z0, z1, t, single


def lerp(z0, z1, t) -> np.ndarray:
    """(n, d), (n, d), (steps,) -> (n, steps, d): z0 + t (z1 - z0)."""
    z0, z1, t, single = _inputs(z0, z1, t)
    out = z0[:, None] + t[None, :, None] * (z1 - z0)[:, None]
    return out[0] if single else out


def slerp(z0, z1, t, eps: float = 1e-7) -> np.ndarray:
    """(n, d), (n, d), (steps,) -> (n, steps, d) spherical interpolation (linear where undefined)."""
    z0, z1, t, single = _inputs(z0, z1, t)
    out = lerp(z0, z1, t)
    n0, n1 = np.linalg.norm(z0, axis=1), np.linalg.norm(z1, axis=1)
    nonzero = (n0 > eps) & (n1 > eps)
    cos = np.einsum("nd,nd->n", z0, z1) / np.where(nonzero, n0 * n1, 1.0)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    ok = nonzero & (np.sin(omega) > eps)
    if ok.any():
        w, s = omega[ok, None], np.sin(omega[ok, None])
        a, b = np.sin((1 - t[None]) * w) / s, np.sin(t[None] * w) / s  # (m, steps)
        out[ok] = a[..., None] * z0[ok, None] + b[..., None] * z1[ok, None]
    return out[0] if single else out


def interpolation_path(z0, z1, t, method: str = "slerp", origin=None) -> np.ndarray:
    """(n, d), (n, d), (steps,) -> (n, steps, d) by ``method``. ``origin`` (d,) moves the
    sphere's centre: the path of z - origin, then + origin (e.g. the codes' mean, for codes that
    no prior centres at zero); None keeps the raw codes, as the paper's evaluation does."""
    if method not in METHODS:
        raise RaekitError(
            f"unknown interpolation method {method!r} (choices: {', '.join(METHODS)})"
        )
    shift = 0.0 if origin is None else np.asarray(origin, np.float64)
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    return (slerp if method == "slerp" else lerp)(z0 - shift, z1 - shift, t) + shift


def midpoints(z0, z1, method: str = "slerp", origin=None) -> np.ndarray:
    """(n, d) midpoints (t = 1/2), as the paper's interpolation FID uses."""
    return interpolation_path(z0, z1, np.array([0.5]), method, origin)[..., 0, :]
