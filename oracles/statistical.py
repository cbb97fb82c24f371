"""Statistical models with closed-form population gradients and vectorised per-worker gradients
(docs/paper.md §1: m workers with n i.i.d. samples each; F(w) = E f(w; z)).

A model is a :class:`~byzpgd.oracles.landscapes.base.Landscape` (the population risk F with
exact gradient/Hessian) that also samples data and computes every worker's gradient
g_i(w) = (1/n) Σ_j ∇f(w; z_ij) in one vectorised step:

- :class:`GaussianLocation`: f(w; z) = ½‖w − z‖², z ~ N(μ, σ² I_d), ∇F(w) = w − μ. The worker
  gradient depends on its data only through z̄_i ~ N(μ, σ² I/n) (sampled exactly). The model of
  the statistical lower bound (docs/paper.md §7.2).
- :class:`LinearRegression`: x ~ N(0, I_d), y = ⟨x, w*⟩ + ξ, ξ ~ N(0, s²), f = ½(⟨x, w⟩ − y)²,
  ∇F(w) = w − w*; per-sample gradients x(⟨x, w⟩ − y).
- :class:`PhaseRetrievalModel`: the non-convex model of the foundation (population phase
  retrieval, landscapes.phase_retrieval), per-sample gradient (⟨x,w⟩² − ⟨x,w*⟩²)⟨x,w⟩ x.
"""

from __future__ import annotations

import numpy as np

from .landscapes.base import CriticalPoint, Landscape
from .landscapes.phase_retrieval import PhaseRetrieval


class StatisticalModel(Landscape):
    """Landscape + ``sample(m, n, rng) -> data`` + ``worker_gradients(data, w) -> (m, d)``."""

    def sample(self, m: int, n: int, rng: np.random.Generator):
        raise NotImplementedError

    def worker_gradients(self, data, w: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def _check_mn(m, n):
    if not (isinstance(m, int | np.integer) and m >= 1):
        raise ValueError(f"m must be an integer >= 1, got {m!r}")
    if not (isinstance(n, int | np.integer) and n >= 1):
        raise ValueError(f"n must be an integer >= 1, got {n!r}")


class _UnitQuadratic(StatisticalModel):
    """Population risk F(w) = ½‖w − centre‖² + F* (identity Hessian: L_F = 1, ρ_F = 0)."""

    centre: np.ndarray

    def _set_centre(self, name: str, centre, f_star: float, radius: float) -> np.ndarray:
        """Validate and set the centre (a finite vector named ``name``), F*, L_F = 1, ρ_F = 0 and
        the radius of W = ball(centre, radius), where probes are drawn."""
        centre = np.asarray(centre, dtype=np.float64)
        if centre.ndim != 1 or not np.all(np.isfinite(centre)):
            raise ValueError(f"{name} must be a finite vector")
        self.centre, self.dim = centre, centre.size
        self.L, self.rho, self.f_star = 1.0, 0.0, float(f_star)
        self.domain_radius = float(radius)
        return centre

    def value(self, w):
        e = np.asarray(w, dtype=np.float64) - self.centre
        return float(0.5 * e @ e + self.f_star)

    def grad(self, w):
        return np.asarray(w, dtype=np.float64) - self.centre

    def hvp(self, w, v):
        return np.asarray(v, dtype=np.float64).copy()

    def hess(self, w):
        return np.eye(self.dim)

    def critical_points(self):
        return [CriticalPoint(self.centre.copy(), "global_min", self.f_star, 1.0)]


class GaussianLocation(_UnitQuadratic):
    name = "gaussian_location"

    def __init__(self, mu, sigma: float = 1.0, radius: float = 1.0):
        if not (np.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma must be finite and > 0, got {sigma}")
        self.sigma = float(sigma)
        self.mu = self._set_centre("mu", mu, 0.5 * np.size(mu) * sigma**2, radius)

    def sample(self, m, n, rng):
        _check_mn(m, n)
        return {"zbar": self.mu + self.sigma / np.sqrt(n) * rng.standard_normal((m, self.dim)),
                "n": int(n)}

    def worker_gradients(self, data, w):
        return np.asarray(w, dtype=np.float64)[None, :] - data["zbar"]

    def worker_sigma2(self, n: int) -> float:
        """Operator norm of one worker gradient's covariance: σ²/n."""
        return self.sigma**2 / n


class LinearRegression(_UnitQuadratic):
    name = "linear_regression"

    def __init__(self, w_star, noise: float = 1.0, radius: float = 1.0):
        if not (np.isfinite(noise) and noise >= 0):
            raise ValueError(f"noise must be finite and >= 0, got {noise}")
        self.noise = float(noise)
        self.w_star = self._set_centre("w_star", w_star, 0.5 * noise**2, radius)

    def sample(self, m, n, rng):
        _check_mn(m, n)
        X = rng.standard_normal((m, n, self.dim))
        y = X @ self.w_star + self.noise * rng.standard_normal((m, n))
        return {"X": X, "y": y, "n": int(n)}

    def worker_gradients(self, data, w):
        X = data["X"]
        r = X @ np.asarray(w, dtype=np.float64) - data["y"]
        return np.einsum("mnd,mn->md", X, r) / data["n"]

    def worker_sigma2(self, n: int, w=None) -> float:
        """Covariance op-norm of one worker gradient at w: (2‖w − w*‖² + s²)/n."""
        e2 = 0.0 if w is None else float(np.sum((np.asarray(w) - self.w_star) ** 2))
        return (2 * e2 + self.noise**2) / n


class PhaseRetrievalModel(PhaseRetrieval, StatisticalModel):
    """Population phase retrieval (landscapes.phase_retrieval) with its data: x ~ N(0, I_d)."""

    name = "phase_retrieval_model"

    def sample(self, m, n, rng):
        _check_mn(m, n)
        X = rng.standard_normal((m, n, self.dim))
        return {"X": X, "xs": X @ self.w_star, "n": int(n)}

    def worker_gradients(self, data, w):
        X = data["X"]
        xw = X @ np.asarray(w, dtype=np.float64)
        coef = (xw**2 - data["xs"] ** 2) * xw
        return np.einsum("mnd,mn->md", X, coef) / data["n"]
