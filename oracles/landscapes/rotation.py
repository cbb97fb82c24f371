"""Orthogonal matrices Q that act on vectors without being stored densely when d is large.

``apply(y) = Q y`` and ``apply_t(w) = Qᵀ w``, both along the last axis (batches allowed).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import ortho_group

DENSE_MAX_DIM = 400


class Rotation:
    """Identity rotation; base class."""

    def __init__(self, dim: int):
        self.dim = int(dim)

    def apply(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=np.float64)

    def apply_t(self, w: np.ndarray) -> np.ndarray:
        return np.asarray(w, dtype=np.float64)

    def column(self, k: int) -> np.ndarray:
        """q_k, the k-th column of Q."""
        e = np.zeros(self.dim)
        e[k] = 1.0
        return self.apply(e)

    def describe(self) -> str:
        return "identity"


class DenseRotation(Rotation):
    """Q stored as a d x d orthogonal matrix (Haar-distributed when drawn by :func:`random_rotation`)."""

    def __init__(self, matrix: np.ndarray):
        q = np.asarray(matrix, dtype=np.float64)
        if q.ndim != 2 or q.shape[0] != q.shape[1]:
            raise ValueError(f"rotation matrix must be square, got shape {q.shape}")
        if not np.allclose(q.T @ q, np.eye(q.shape[0]), atol=1e-10):
            raise ValueError("rotation matrix must be orthogonal (QᵀQ = I to 1e-10)")
        super().__init__(q.shape[0])
        self.matrix = q

    def apply(self, y):
        return np.asarray(y, dtype=np.float64) @ self.matrix.T

    def apply_t(self, w):
        return np.asarray(w, dtype=np.float64) @ self.matrix

    def describe(self) -> str:
        return "dense"


class HouseholderRotation(Rotation):
    """Q = H_1 H_2 ... H_k with H_i = I − 2 u_i u_iᵀ (unit u_i): O(kd) memory and work."""

    def __init__(self, vectors: np.ndarray):
        u = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
        norms = np.linalg.norm(u, axis=1, keepdims=True)
        if np.any(norms == 0) or not np.all(np.isfinite(u)):
            raise ValueError("Householder vectors must be finite and non-zero")
        super().__init__(u.shape[1])
        self.vectors = u / norms

    def _reflect(self, x, u):
        return x - 2.0 * (x @ u)[..., None] * u

    def apply(self, y):
        x = np.asarray(y, dtype=np.float64)
        for u in self.vectors[::-1]:
            x = self._reflect(x, u)
        return x

    def apply_t(self, w):
        x = np.asarray(w, dtype=np.float64)
        for u in self.vectors:
            x = self._reflect(x, u)
        return x

    def describe(self) -> str:
        return f"householder[{len(self.vectors)}]"


def random_rotation(dim: int, rng: np.random.Generator, kind: str = "auto",
                    reflections: int = 4) -> Rotation:
    """Draw a random rotation: Haar ('dense', d <= 400 by default under 'auto'), a product of
    ``reflections`` random Householder reflections ('householder'), or 'identity'."""
    if kind == "auto":
        kind = "dense" if dim <= DENSE_MAX_DIM else "householder"
    if kind == "identity":
        return Rotation(dim)
    if kind == "dense":
        if dim == 1:
            return DenseRotation(np.array([[1.0 if rng.random() < 0.5 else -1.0]]))
        return DenseRotation(ortho_group.rvs(dim, random_state=rng))
    if kind == "householder":
        return HouseholderRotation(rng.standard_normal((reflections, dim)))
    raise ValueError(f"kind must be 'auto', 'dense', 'householder' or 'identity', got {kind!r}")
