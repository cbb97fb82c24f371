"""The L-smooth (nonconvex) interpolant of finitely many points (x_i, g_i, f_i): a landscape whose
smoothness is *certified* by checking the interpolation conditions, and whose infimum is exact.

Interpolation conditions (Taylor–Hendrickx–Glineur 2017, "Exact worst-case performance of
first-order methods for composite convex optimization" / "Smooth strongly convex interpolation
and exact worst-case performance of first-order methods", Thm 3.10 for L-smooth nonconvex f):
the data is interpolated by an L-smooth f: R^d -> R iff for every pair i, j

    f_i >= f_j + ½⟨g_i + g_j, x_i − x_j⟩ + ‖g_i − g_j‖²/(4L) − (L/4)‖x_i − x_j‖².      (IC)

Construction (OWN derivation of the standard one): f is L-smooth iff h = f + (L/2)‖·‖² is convex
and M-smooth with M = 2L; (IC) is the convex M-smooth interpolation condition of the data
(x_i, s_i = g_i + L x_i, h_i = f_i + (L/2)‖x_i‖²). The smallest such h is the inf-convolution of
the polyhedral function conv{(y_i, c_i)} with (M/2)‖·‖², y_i = x_i − s_i/M, c_i = h_i − ‖s_i‖²/(2M):

    h(x) = min_{α ∈ simplex} Σ_i α_i c_i + L‖x − Yα‖²,      f(x) = h(x) − (L/2)‖x‖².

Where the minimizing α is the vertex e_k, f(x) = c_k + L‖x − y_k‖² − (L/2)‖x‖² (a quadratic with
Hessian L·I) and ∇f(x) = Lx − 2L y_k; at x = x_k this gives f_k and g_k. The vertex e_k is optimal
at x iff φ_i(x) = c_i − 2L⟨x − y_k, y_i⟩ >= φ_k(x) for all i (the QP is convex: KKT at a vertex).

Infimum (OWN, exact): min over x of L‖x − Yα‖² − (L/2)‖x‖² is −L‖Yα‖² (at x = 2Yα), so
inf f = min_α Σα_i c_i − L‖Yα‖², a concave function of α, minimized at a vertex:

    inf f = min_i (f_i − ‖g_i‖²/(2L)),   attained at x_i − g_i/L.

So f(x_0) − inf f = max_i (f(x_0) − f_i + ‖g_i‖²/(2L)): exactly the budget condition of the PEP in
:mod:`byzpgd.experiments.pep`, which is therefore exact (not only a relaxation) for the full
interpolation conditions, and any data the PEP allows becomes a real L-smooth function here.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize

from .base import CriticalPoint, Landscape

EPS = np.finfo(np.float64).eps
IC_RTOL = 64 * EPS     # rounding allowance of the certification, relative to the terms' size


class NotInterpolable(ValueError):
    """The data violates an interpolation condition (IC): no L-smooth function passes through it."""


def ic_slack(X, G, F, L: float) -> tuple[np.ndarray, np.ndarray]:
    """(slack, scale): slack[i, j] = f_i − f_j − ½⟨g_i + g_j, x_i − x_j⟩ − ‖g_i − g_j‖²/(4L)
    + (L/4)‖x_i − x_j‖² (>= 0 for every pair iff (IC) holds) and the size of its terms (for the
    rounding allowance)."""
    X, G, F = (np.asarray(a, dtype=np.float64) for a in (X, G, F))
    dx = X[:, None, :] - X[None, :, :]
    dg = G[:, None, :] - G[None, :, :]
    inner = 0.5 * np.einsum("ijk,ijk->ij", G[:, None, :] + G[None, :, :], dx)
    gg = np.einsum("ijk,ijk->ij", dg, dg) / (4 * L)
    xx = (L / 4) * np.einsum("ijk,ijk->ij", dx, dx)
    slack = F[:, None] - F[None, :] - inner - gg + xx
    scale = np.abs(F)[:, None] + np.abs(F)[None, :] + np.abs(inner) + gg + xx
    return slack, scale


class SmoothInterpolant(Landscape):
    """The L-smooth interpolant of the data (module docstring). The constructor certifies (IC)
    for every pair (up to a rounding allowance of IC_RTOL times the terms' size) and raises
    :class:`NotInterpolable` otherwise (``check=False`` skips the certification: for the
    able-to-fail tests only, the result is then not a certified landscape).

    ``L`` is certified (C^{1,1}, not C²: ``rho`` is +inf); ``f_star`` = min_i (f_i − ‖g_i‖²/(2L)) is
    the exact infimum, attained at x_i − g_i/L (:meth:`critical_points`).
    """

    name = "smooth_interpolant"

    def __init__(self, X, G, F, L: float, *, check: bool = True):
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        G = np.atleast_2d(np.asarray(G, dtype=np.float64))
        F = np.asarray(F, dtype=np.float64).reshape(-1)
        if X.shape != G.shape or X.shape[0] != F.shape[0] or X.shape[0] < 1:
            raise ValueError(f"need X, G of shape (m, d) and F of shape (m,), got {X.shape}, {G.shape}, "
                             f"{F.shape}")
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(G)) and np.all(np.isfinite(F))):
            raise ValueError("the data must be finite")
        if not (isinstance(L, int | float) and math.isfinite(L) and L > 0):
            raise ValueError(f"L must be finite and > 0, got {L!r}")
        self.L, self.rho, self.dim = float(L), math.inf, X.shape[1]
        self.X, self.G, self.F = X, G, F
        slack, scale = ic_slack(X, G, F, self.L)
        self.min_slack = float(np.min(slack - (-IC_RTOL * scale)))
        if check:
            bad = slack < -IC_RTOL * scale
            if bad.any():
                i, j = np.unravel_index(int(np.argmin(np.where(bad, slack / np.maximum(scale, 1e-300), 0))),
                                        bad.shape)
                raise NotInterpolable(f"interpolation condition (i={i}, j={j}) fails by {-slack[i, j]:.3g} "
                                      f"(allowance {IC_RTOL * scale[i, j]:.3g}): the data is not "
                                      f"{self.L:g}-smooth interpolable")
        self.certified = bool(check)
        M = 2 * self.L
        S = G + self.L * X
        self.Y = X - S / M
        self.c = F + 0.5 * self.L * np.sum(X * X, axis=1) - np.sum(S * S, axis=1) / (2 * M)
        low = F - np.sum(G * G, axis=1) / (2 * self.L)
        self._argmin = int(np.argmin(low))
        self.f_star = float(low[self._argmin])
        self.f_star_exact = True
        self.vertex_hits = 0
        self.qp_solves = 0

    # --- the QP over the simplex ------------------------------------------------------------
    def _solve(self, x) -> tuple[np.ndarray, float, int | None]:
        """(z = Yα*, the QP's value h(x), k): k is the optimal vertex when one is optimal (the fast
        path, exact), else None (SLSQP over the simplex from the best vertex; accuracy about 1e-10,
        used only away from the data: the search's runs stay on the vertex regions)."""
        diff = x[None, :] - self.Y
        v = self.c + self.L * np.sum(diff * diff, axis=1)
        k = int(np.argmin(v))
        phi = self.c - 2 * self.L * (self.Y @ (x - self.Y[k]))
        tol = IC_RTOL * (float(np.abs(phi).max()) + abs(float(v[k])) + 1.0)
        if np.all(phi >= phi[k] - tol):
            self.vertex_hits += 1
            return self.Y[k], float(v[k]), k
        self.qp_solves += 1
        Yt = self.Y

        def obj(a):
            r = x - Yt.T @ a
            return float(self.c @ a + self.L * r @ r), self.c - 2 * self.L * (Yt @ r)

        a0 = np.zeros(len(self.c))
        a0[k] = 1.0
        res = minimize(obj, a0, jac=True, method="SLSQP", bounds=[(0.0, 1.0)] * len(a0),
                       constraints=[{"type": "eq", "fun": lambda a: np.sum(a) - 1.0,
                                     "jac": lambda a: np.ones_like(a)}],
                       options={"ftol": 1e-15, "maxiter": 500})
        a = np.clip(res.x, 0.0, None)
        a /= a.sum()
        val, _ = obj(a)
        if val > v[k]:                  # never worse than the best vertex
            return self.Y[k], float(v[k]), None
        return Yt.T @ a, val, None

    def value(self, w) -> float:
        x = np.asarray(w, dtype=np.float64).reshape(-1)
        _, h, _ = self._solve(x)
        return float(h - 0.5 * self.L * x @ x)

    def grad(self, w):
        w = np.asarray(w, dtype=np.float64)
        if w.ndim == 2:
            return np.stack([self.grad(row) for row in w])
        z, _, _ = self._solve(w)
        return self.L * w - 2 * self.L * z

    def hvp(self, w, v):
        """L·v where a vertex is optimal (the Hessian there is L·I); central differences of the
        gradient elsewhere (f is C^{1,1} only)."""
        x = np.asarray(w, dtype=np.float64)
        v = np.asarray(v, dtype=np.float64)
        _, _, k = self._solve(x)
        if k is not None:
            return self.L * v
        h = 1e-6 * max(1.0, float(np.linalg.norm(x))) / max(float(np.linalg.norm(v)), 1e-300)
        return (self.grad(x + h * v) - self.grad(x - h * v)) / (2 * h)

    def critical_points(self) -> list[CriticalPoint]:
        i = self._argmin
        return [CriticalPoint(self.X[i] - self.G[i] / self.L, "global_min", self.f_star, self.L)]

    def describe(self) -> dict:
        return {"name": self.name, "dim": self.dim, "L": self.L, "rho": self.rho, "f_star": self.f_star,
                "points": len(self.F), "certified": self.certified}
