"""Rotated cosine-saddle family (issue 2, a strict saddle with certified constants).

In rotated coordinates y = Qᵀw, with N the first ``len(gamma)`` coordinates and P the rest,

    F(w) = ½ Σ_{i∈P} a_i y_i² + Σ_{j∈N} γ_j s_j² (cos(y_j / s_j) − 1).

The Hessian is Q diag(h) Qᵀ with h_i = a_i (i ∈ P) and h_j = −γ_j cos(y_j/s_j) (j ∈ N), so

- L_F = max(a_i, γ_j) (attained),
- ρ_F = max_j γ_j / s_j (|d/dy (γ cos(y/s))| <= γ/s, Hessian diagonal in the same basis),
- F* = −2 Σ_j γ_j s_j² (at y_P = 0, y_j ∈ π s_j (2Z + 1)),
- 0 is a strict saddle with λ_min = −max_j γ_j; y_P = 0, y_N ∈ π s·Z are all the critical points.

cos(x) − 1 is evaluated as −2 sin²(x/2) to keep relative accuracy near the saddle.
"""

from __future__ import annotations

import numpy as np

from byzpgd.geometry import as_point, as_rows, row_sums

from ..stacking import LandscapeStack, per_trial_product, take_rows, transposes
from .base import CriticalPoint, Landscape, _rotation_scale
from .rotation import DenseRotation, Rotation, random_rotation


def cosine_terms(y, gamma, s):
    """γ s² (cos(y/s) − 1) = −2 γ s² sin²(y/(2s)) elementwise: the negative-curvature terms of F
    in rotated coordinates (the one-instance landscape and its batched form call it)."""
    half_sin = np.sin(y / (2.0 * s))
    return -2.0 * gamma * s**2 * half_sin * half_sin


def cosine_terms_grad(y, gamma, s):
    """d/dy of γ s² (cos(y/s) − 1) = −γ s sin(y/s), elementwise."""
    return -gamma * s * np.sin(y / s)


def cosine_term_changes(dy, sy, gamma, s):
    """The change of γ s² (cos(y/s) − 1) from y₀ to y₁, given dy = y₁ − y₀ and sy = y₁ + y₀,
    differenced analytically: −2γs² (sin²(y₁/2s) − sin²(y₀/2s)) = −2γs² sin(dy/2s) sin(sy/2s)."""
    return -2.0 * gamma * s**2 * np.sin(dy / (2.0 * s)) * np.sin(sy / (2.0 * s))


def quadratic_term_changes(dy, sy, a):
    """The change of ½ a y²: ½ a (y₁ − y₀)(y₁ + y₀)."""
    return 0.5 * a * dy * sy


def _dense(rotation: Rotation, dim: int) -> np.ndarray:
    """The matrix M with ``rotation.apply_t(w) = w @ M`` (identity: I, exactly)."""
    if isinstance(rotation, DenseRotation):
        return rotation.matrix
    if type(rotation) is Rotation:
        return np.eye(dim)
    return rotation.apply(np.eye(dim)).T     # Householder: dense here (small d only)


class CosineSaddleStack(LandscapeStack):
    """Stacked :class:`CosineSaddle` (any dimensions and numbers of negative directions: per
    coordinate of the rotated basis, a mask says whether it is a cosine or a quadratic one; an
    inert coordinate is quadratic with a = 0 and an identity block in the rotation)."""

    def __init__(self, items, dim: int | None = None):
        super().__init__(items, dim)
        B, D = self.B, self.dim
        self.neg = np.zeros((B, D), dtype=bool)
        self.a = np.zeros((B, D))
        self.gamma = np.ones((B, D))
        self.s = np.ones((B, D))
        self.M = np.tile(np.eye(D), (B, 1, 1))
        for b, x in enumerate(self.items):
            n, d = x.n_neg, x.dim
            self.neg[b, :n] = True
            self.gamma[b, :n], self.s[b, :n] = x.gamma, x.s
            self.a[b, n:d] = x.a
            self.M[b, :d, :d] = _dense(x.rotation, d)
        self.MT = transposes(self.M)
        self.n_neg_max = k = int(self.neg.sum(axis=1).max(initial=0))
        # the cosine columns as contiguous (B, k) arrays, for fast row gathers
        self.s_k, self.gamma_k, self.neg_k = (np.ascontiguousarray(x[:, :k])
                                              for x in (self.s, self.gamma, self.neg))

    def _y(self, W, idx):
        """Qᵀw of each row (w @ M)."""
        return per_trial_product(W, idx, self.M)

    def value(self, W, idx):
        y = self._y(W, idx)
        k = self.n_neg_max        # a trial's cosine coordinates are its first n_neg ones
        yk, s = y[:, :k], take_rows(self.s_k, idx)
        cosine = np.where(take_rows(self.neg_k, idx), cosine_terms(yk, take_rows(self.gamma_k, idx), s), 0.0)
        # a = 0 on the cosine coordinates
        return 0.5 * row_sums(take_rows(self.a, idx) * y**2) + row_sums(cosine)

    def value_changes(self, W0, W1, idx):
        """F(W1[i]) − F(W0[i]) for the rows' trials, each term differenced analytically by the
        one-instance landscape's functions, and the scale of those terms (as
        :meth:`CosineSaddle.value_changes`)."""
        D, S = W1 - W0, W1 + W0
        yd, ys = per_trial_product(D, idx, self.M), per_trial_product(S, idx, self.M)
        k = self.n_neg_max
        quad = quadratic_term_changes(yd, ys, take_rows(self.a, idx))     # a = 0 on the cosine ones
        trig = np.where(take_rows(self.neg_k, idx),
                        cosine_term_changes(yd[:, :k], ys[:, :k], take_rows(self.gamma_k, idx),
                                            take_rows(self.s_k, idx)), 0.0)
        change = row_sums(quad) + row_sums(trig)       # sums of a defined order (padding: no bit)
        return change, (row_sums(np.abs(quad)) + row_sums(np.abs(trig))
                        + _rotation_scale(self.L[idx], D, S))

    def grad(self, W, idx):
        y = self._y(W, idx)
        k = self.n_neg_max
        gy = take_rows(self.a, idx) * y
        yk, s = y[:, :k], take_rows(self.s_k, idx)
        neg = take_rows(self.neg_k, idx)
        gy[:, :k] = np.where(neg, cosine_terms_grad(yk, take_rows(self.gamma_k, idx), s), gy[:, :k])
        return per_trial_product(gy, idx, self.MT)


class CosineSaddle(Landscape):
    name = "cosine_saddle"
    Stack = CosineSaddleStack

    def __init__(self, a, gamma, s, rotation: Rotation | None = None):
        a = np.atleast_1d(np.asarray(a, dtype=np.float64))
        gamma = np.atleast_1d(np.asarray(gamma, dtype=np.float64))
        s = np.atleast_1d(np.asarray(s, dtype=np.float64))
        if gamma.shape != s.shape or gamma.size == 0:
            raise ValueError("gamma and s must be non-empty and of the same length")
        for label, arr in (("a", a), ("gamma", gamma), ("s", s)):
            if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
                raise ValueError(f"{label} must be finite and > 0")
        self.a, self.gamma, self.s = a, gamma, s
        self.n_neg = gamma.size
        self.dim = a.size + gamma.size
        self.rotation = rotation if rotation is not None else Rotation(self.dim)
        if self.rotation.dim != self.dim:
            raise ValueError(f"rotation has dim {self.rotation.dim}, landscape has {self.dim}")
        self.L = float(max(a.max(initial=0.0), gamma.max()))
        self.rho = float(np.max(gamma / s))
        self.f_star = float(-2.0 * np.sum(gamma * s**2))
        self.f_star_exact = True

    @classmethod
    def random(cls, dim: int, rng: np.random.Generator, *, n_neg: int = 1, L: float = 1.0,
               rho: float = 1.0, gamma_range=(0.6, 1.0), a_range=(0.3, 1.0),
               rotation: str = "auto") -> CosineSaddle:
        """A random instance: γ_j, a_i drawn uniformly in the given ranges times L, widths
        s_j = γ_j/ρ (so ρ_F = ρ exactly), a random rotation of the given kind."""
        if not 1 <= n_neg <= dim:
            raise ValueError(f"n_neg must be in [1, dim], got {n_neg}")
        for label, x in (("L", L), ("rho", rho)):
            if not (np.isfinite(x) and x > 0):
                raise ValueError(f"{label} must be finite and > 0, got {x}")
        gamma = L * rng.uniform(*gamma_range, size=n_neg)
        gamma[0] = L * gamma_range[1]
        a = L * rng.uniform(*a_range, size=dim - n_neg)
        return cls(a, gamma, gamma / rho, random_rotation(dim, rng, rotation))

    # rotated-coordinate pieces -------------------------------------------------------------
    def _split(self, w):
        y = self.rotation.apply_t(w)
        return y[..., : self.n_neg], y[..., self.n_neg :]

    def hess_diag(self, w) -> np.ndarray:
        """The Hessian's eigenvalues (diag in the rotated basis), in coordinate order."""
        yn, _ = self._split(as_point(w, self.dim))
        return np.concatenate([-self.gamma * np.cos(yn / self.s), self.a])

    # Landscape interface -------------------------------------------------------------------
    def value(self, w):
        yn, yp = self._split(as_point(w, self.dim))
        # ½ Σ a_i y_i² + Σ γ_j s_j² (cos − 1), with cos − 1 = −2 sin²(y/(2s))
        return float(0.5 * ((self.a * yp) @ yp) + np.sum(cosine_terms(yn, self.gamma, self.s)))

    def values(self, W):
        yn, yp = self._split(as_rows(W, self.dim))
        quadratic = 0.5 * np.einsum("ki,i,ki->k", yp, self.a, yp)
        return quadratic + np.sum(cosine_terms(yn, self.gamma, self.s), axis=1)

    def value_changes(self, W0, W1):
        """Each term differenced analytically: ½a(y₁² − y₀²) = ½a(y₁ − y₀)(y₁ + y₀) and
        sin²A − sin²B = sin(A − B) sin(A + B), with y₁ − y₀ = Qᵀ(w₁ − w₀)."""
        W0, W1 = as_rows(W0, self.dim), as_rows(W1, self.dim)
        D, S = W1 - W0, W1 + W0
        dn, dp = self._split(D)
        sn, sp_ = self._split(S)
        quad = quadratic_term_changes(dp, sp_, self.a)
        trig = cosine_term_changes(dn, sn, self.gamma, self.s)
        return quad.sum(axis=1) + trig.sum(axis=1), (np.abs(quad).sum(axis=1) + np.abs(trig).sum(axis=1)
                                                      + _rotation_scale(self.L, D, S))

    def grad(self, w):
        yn, yp = self._split(w)
        gy = np.concatenate([cosine_terms_grad(yn, self.gamma, self.s), self.a * yp], axis=-1)
        return self.rotation.apply(gy)

    def hvp(self, w, v):
        h = self.hess_diag(w)
        return self.rotation.apply(h * self.rotation.apply_t(v))

    def hess(self, w):
        h = self.hess_diag(w)
        q = self.rotation.apply(np.eye(self.dim)).T  # columns q_k
        return (q * h) @ q.T

    def critical_points(self):
        zero = np.zeros(self.dim)
        y_min = np.concatenate([np.pi * self.s, np.zeros(self.dim - self.n_neg)])
        w_min = self.rotation.apply(y_min)
        lam_min = float(min(self.gamma.min(), self.a.min(initial=np.inf)))
        return [
            CriticalPoint(zero, "local_max" if self.n_neg == self.dim else "strict_saddle", 0.0,
                          float(-self.gamma.max())),
            CriticalPoint(w_min, "global_min", self.f_star, lam_min),
        ]

    def describe(self):
        return {**super().describe(), "n_neg": self.n_neg, "rotation": self.rotation.describe(),
                "gamma": self.gamma.tolist() if self.dim <= 64 else None}
