"""Mean (not robust: breakdown point 0) and coordinate-wise median (Yin et al. 2018;
breakdown point 1/2 per coordinate)."""

from __future__ import annotations

import numpy as np


def _as_workers(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1:
        raise ValueError(f"worker vectors must have shape (m, d) with m >= 1, got {X.shape}")
    return X


def mean(X) -> np.ndarray:
    """ĝ = (1/m) Σ_i g_i. One Byzantine row can move it arbitrarily far."""
    return _as_workers(X).mean(axis=0)


def coordinate_median(X) -> np.ndarray:
    """ĝ_k = med{g_{i,k} : i ∈ [m]} (paper-spec §6), by ``np.partition`` selection on a copy."""
    return np.median(_as_workers(X), axis=0)
