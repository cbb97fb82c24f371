"""Geometry shared by every layer (algorithms, oracles, experiments): uniform draws from balls
and spheres, and the validation of a point. Imports nothing but numpy, so that the algorithms
need nothing from the oracles (docs/ARCHITECTURE.md, layering)."""

from __future__ import annotations

import numpy as np


def uniform_ball(rng: np.random.Generator, dim: int, radius: float, size: int | None = None):
    """Uniform draw(s) from the d-dimensional ℓ2 ball of the given radius: shape (dim,), or
    (size, dim) when ``size`` is given (direction: normalised Gaussian; radius: radius·U^{1/d})."""
    n = 1 if size is None else size
    u = rng.standard_normal((n, dim))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    x = radius * rng.random((n, 1)) ** (1.0 / dim) * u
    return x[0] if size is None else x


def unit_vector(rng: np.random.Generator, dim: int) -> np.ndarray:
    """A uniformly random direction on the unit sphere of R^dim."""
    u = rng.standard_normal(dim)
    return u / np.linalg.norm(u)


def as_point(w, dim: int, name: str = "w") -> np.ndarray:
    """Validate ``w`` as a finite float64 vector of length ``dim`` (a copy is returned)."""
    arr = np.array(w, dtype=np.float64)
    if arr.shape != (dim,):
        raise ValueError(f"{name} must have shape ({dim},), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got non-finite entries")
    return arr
