"""The :class:`Landscape` interface shared by every test function.

A landscape carries exact value / gradient / Hessian / Hessian-vector product, certified
constants (``L``: gradient Lipschitz, ``rho``: Hessian Lipschitz, ``f_star``: the infimum or a
certified lower bound of it) and its known critical points. These are Assumption A of
docs/paper.md §1 made concrete.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from byzpgd.geometry import row_dots, uniform_ball, unit_vector


def _rotation_scale(L: float, D: np.ndarray, S: np.ndarray) -> np.ndarray:
    """L‖w₁ − w₀‖‖w₁ + w₀‖ per row: the scale of the rounding of the products and rotations of
    w₁ − w₀ and w₁ + w₀ that :meth:`Landscape.value_changes` overrides difference (added to the
    sum of the terms' magnitudes in the scale they return)."""
    return L * np.sqrt(row_dots(D, D) * row_dots(S, S))


@dataclass(frozen=True)
class CriticalPoint:
    """A known critical point: ``kind`` is 'strict_saddle', 'global_min' or 'local_max'."""

    point: np.ndarray
    kind: str
    value: float
    lambda_min: float


class Landscape(ABC):
    """A twice-differentiable F: R^d -> R with certified smoothness constants.

    Attributes
    ----------
    dim : int
        Dimension d.
    L : float
        Certified gradient-Lipschitz constant L_F (on ``domain_radius`` if that is set).
    rho : float
        Certified Hessian-Lipschitz constant ρ_F (on ``domain_radius`` if that is set).
    f_star : float
        inf F if ``f_star_exact``, else a certified lower bound of it.
    domain_radius : float or None
        If set, L and ρ are certified only on the ball ‖w‖ <= domain_radius and every run must
        be checked to stay inside it.
    """

    dim: int
    L: float
    rho: float
    f_star: float
    f_star_exact: bool = True
    domain_radius: float | None = None
    name: str = "landscape"

    @abstractmethod
    def value(self, w: np.ndarray) -> float: ...

    def values(self, W: np.ndarray) -> np.ndarray:
        """F at each row of a (k, d) batch, shape (k,); equal to ``[value(w) for w in W]`` up to
        rounding. This default evaluates row by row; landscapes override it with one vectorized
        evaluation."""
        return np.array([self.value(w) for w in np.asarray(W, dtype=np.float64)], dtype=np.float64)

    def value_changes(self, W0: np.ndarray, W1: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """F(W1[i]) − F(W0[i]) for (k, d) batches, and the scale of the terms that change was
        summed from (its rounding error is at most a modest multiple of machine epsilon times
        that scale), or None when the change is the plain difference of two values (whose
        rounding error scales with |F| itself, not with the change). Landscapes override it with
        a form that differences each term analytically, so that a change far below |F| stays
        visible (the descent monitor, experiments/monitor.py)."""
        return self.values(W1) - self.values(W0), None

    @abstractmethod
    def grad(self, w: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def hvp(self, w: np.ndarray, v: np.ndarray) -> np.ndarray: ...

    def hess(self, w: np.ndarray) -> np.ndarray:
        """Dense Hessian (d x d); the default builds it from d Hessian-vector products."""
        eye = np.eye(self.dim)
        h = np.stack([self.hvp(w, eye[k]) for k in range(self.dim)], axis=1)
        return 0.5 * (h + h.T)

    @abstractmethod
    def critical_points(self) -> list[CriticalPoint]: ...

    def saddle(self) -> CriticalPoint:
        """The first known strict saddle point."""
        for cp in self.critical_points():
            if cp.kind in ("strict_saddle", "local_max"):
                return cp
        raise LookupError(f"{self.name} has no known strict saddle")

    def sample_start(self, rng: np.random.Generator, near: str, scale: float) -> np.ndarray:
        """A starting point: 'saddle' = the known strict saddle plus an offset of norm
        ``scale`` in a uniformly random direction; 'minimum' = the same around a global
        minimum; 'ball' = uniform in the ball of radius ``scale`` around 0 (clipped to 0.95 of
        ``domain_radius`` when that is set)."""
        if not (np.isfinite(scale) and scale >= 0):
            raise ValueError(f"scale must be finite and >= 0, got {scale}")
        if near == "ball":
            if self.domain_radius is not None:
                scale = min(scale, 0.95 * self.domain_radius)
            return uniform_ball(rng, self.dim, scale)
        if near == "saddle":
            centre = self.saddle().point
        elif near == "minimum":
            centre = next(cp.point for cp in self.critical_points() if cp.kind == "global_min")
        else:
            raise ValueError(f"near must be 'saddle', 'minimum' or 'ball', got {near!r}")
        return centre + scale * unit_vector(rng, self.dim)

    def describe(self) -> dict:
        """A JSON-able description (used in reports and replay commands)."""
        return {"name": self.name, "dim": self.dim, "L": self.L, "rho": self.rho,
                "f_star": self.f_star}
