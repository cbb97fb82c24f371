"""Population phase retrieval: a statistical model with a closed-form risk and strict saddles.

Data x ~ N(0, I_d), y = ⟨x, w*⟩², loss f(w; x) = ¼(⟨x, w⟩² − ⟨x, w*⟩²)². With the Gaussian
moments E⟨x,a⟩²⟨x,b⟩² = ‖a‖²‖b‖² + 2⟨a,b⟩²,

    F(w) = ¾‖w‖⁴ − ½‖w‖²‖w*‖² − ⟨w, w*⟩² + ¾‖w*‖⁴,
    ∇F(w) = (3‖w‖² − ‖w*‖²) w − 2⟨w, w*⟩ w*,
    ∇²F(w) = (3‖w‖² − ‖w*‖²) I + 6 w wᵀ − 2 w* w*ᵀ.

Critical points: ±w* (global minima, F* = 0), 0 (local maximum, λ_min = −3‖w*‖²) and the
sphere {w ⊥ w*, ‖w‖² = ‖w*‖²/3} of strict saddles with λ_min = −2‖w*‖².

Constants on the ball ‖w‖ <= B (Weyl's inequality on the two PSD parts of the Hessian):

- L_F = max(9B² − ‖w*‖², 3‖w*‖²),
- ρ_F = 18 B  (3|‖w‖² − ‖v‖²| + 6‖wwᵀ − vvᵀ‖ <= (6B + 12B)‖w − v‖).

They hold only on the ball; every run on this landscape must be checked to stay inside it.
"""

from __future__ import annotations

import numpy as np

from byzpgd.geometry import as_point, as_rows, row_dots

from ..stacking import LandscapeStack, take_rows
from .base import CriticalPoint, Landscape, _rotation_scale


def phase_value(n2, c, n2_star):
    """F from ‖w‖² = n2, w·w* = c and ‖w*‖² (numbers or arrays): 0.75 n2² − 0.5 n2 ‖w*‖² − c² +
    0.75 ‖w*‖⁴. The one-instance landscape and its batched form (oracles/batched.py) call it."""
    return 0.75 * n2**2 - 0.5 * n2 * n2_star - c**2 + 0.75 * n2_star**2


def phase_grad(w, n2, c, n2_star, w_star):
    """∇F = (3‖w‖² − ‖w*‖²) w − 2 (w·w*) w* for rows w (n2, c, ‖w*‖² as columns or numbers)."""
    return (3 * n2 - n2_star) * w - 2 * c * w_star


def phase_term_changes(dn, sn, dc, sc, n2_star):
    """The changes of F's terms from w₀ to w₁ (module ``value_changes``): with dn = ‖w₁‖² − ‖w₀‖²,
    sn = ‖w₁‖² + ‖w₀‖², dc = (w₁ − w₀)·w*, sc = (w₁ + w₀)·w*: (0.75 dn sn, −0.5 ‖w*‖² dn, −dc sc)."""
    return 0.75 * dn * sn, -0.5 * n2_star * dn, -dc * sc


class PhaseRetrievalStack(LandscapeStack):
    """Stacked :class:`PhaseRetrieval` (w* padded with zeros)."""

    def __init__(self, items, dim: int | None = None):
        super().__init__(items, dim)
        self.w_star = self.pad([x.w_star for x in self.items])
        self.n2s = np.array([x.norm2_star for x in self.items])
        self.domain_radius = np.array([x.domain_radius for x in self.items])

    def value(self, W, idx):
        ws = take_rows(self.w_star, idx)
        return phase_value(row_dots(W, W), row_dots(W, ws), self.n2s[idx])

    def value_changes(self, W0, W1, idx):
        """As :meth:`PhaseRetrieval.value_changes`, row by row."""
        ws = take_rows(self.w_star, idx)
        D, S = W1 - W0, W1 + W0
        dn = row_dots(D, S)
        sn = row_dots(W1, W1) + row_dots(W0, W0)
        terms = phase_term_changes(dn, sn, row_dots(D, ws), row_dots(S, ws),
                                   self.n2s[idx])
        return sum(terms), sum(np.abs(t) for t in terms) + _rotation_scale(self.L[idx], D, S)

    def grad(self, W, idx):
        ws = take_rows(self.w_star, idx)
        return phase_grad(W, row_dots(W, W)[:, None], row_dots(W, ws)[:, None],
                          self.n2s[idx][:, None], ws)


class PhaseRetrieval(Landscape):
    name = "phase_retrieval"
    Stack = PhaseRetrievalStack

    def __init__(self, w_star, radius: float):
        w_star = np.asarray(w_star, dtype=np.float64)
        if w_star.ndim != 1 or w_star.size < 2:
            raise ValueError("w_star must be a vector of length >= 2")
        if not np.all(np.isfinite(w_star)) or not np.any(w_star):
            raise ValueError("w_star must be finite and non-zero")
        n2 = float(w_star @ w_star)
        if not (np.isfinite(radius) and radius >= np.sqrt(n2)):
            raise ValueError(f"radius must be >= ‖w*‖ = {np.sqrt(n2):.4g}, got {radius}")
        self.w_star, self.norm2_star = w_star, n2
        self.dim = w_star.size
        self.domain_radius = float(radius)
        self.L = float(max(9 * radius**2 - n2, 3 * n2))
        self.rho = float(18 * radius)
        self.f_star = 0.0

    @classmethod
    def random(cls, dim, rng: np.random.Generator, radius_factor: float = 1.5):
        w_star = rng.standard_normal(dim)
        w_star /= np.linalg.norm(w_star)
        return cls(w_star, radius_factor)

    def value(self, w):
        w = as_point(w, self.dim)
        return float(phase_value(w @ w, w @ self.w_star, self.norm2_star))

    def values(self, W):
        W = as_rows(W, self.dim)
        return phase_value(np.einsum("ki,ki->k", W, W), W @ self.w_star, self.norm2_star)

    def value_changes(self, W0, W1):
        """Each term differenced analytically: with δn = (w₁ − w₀)·(w₁ + w₀) = ‖w₁‖² − ‖w₀‖² and
        δc = (w₁ − w₀)·w*, the change is 0.75 δn (‖w₁‖² + ‖w₀‖²) − 0.5 ‖w*‖² δn − δc (c₁ + c₀)."""
        W0, W1 = as_rows(W0, self.dim), as_rows(W1, self.dim)
        D, S = W1 - W0, W1 + W0
        dn = np.einsum("ki,ki->k", D, S)
        sn = np.einsum("ki,ki->k", W1, W1) + np.einsum("ki,ki->k", W0, W0)
        terms = phase_term_changes(dn, sn, D @ self.w_star, S @ self.w_star, self.norm2_star)
        return sum(terms), sum(np.abs(t) for t in terms) + _rotation_scale(self.L, D, S)

    def grad(self, w):
        w = np.asarray(w, dtype=np.float64)
        return phase_grad(w, np.sum(w * w, axis=-1, keepdims=True), np.asarray(w @ self.w_star)[..., None],
                          self.norm2_star, self.w_star)

    def hvp(self, w, v):
        w, v = np.asarray(w, dtype=np.float64), np.asarray(v, dtype=np.float64)
        n2 = w @ w
        return (3 * n2 - self.norm2_star) * v + 6 * w * (w @ v) - 2 * self.w_star * (self.w_star @ v)

    def hess(self, w):
        w = as_point(w, self.dim)
        return ((3 * (w @ w) - self.norm2_star) * np.eye(self.dim) + 6 * np.outer(w, w)
                - 2 * np.outer(self.w_star, self.w_star))

    def saddle_point(self) -> np.ndarray:
        """A point of the saddle sphere: w ⊥ w*, ‖w‖ = ‖w*‖/√3."""
        e = np.zeros(self.dim)
        e[np.argmin(np.abs(self.w_star))] = 1.0
        u = e - (e @ self.w_star) / self.norm2_star * self.w_star
        return u / np.linalg.norm(u) * np.sqrt(self.norm2_star / 3)

    def critical_points(self):
        n2 = self.norm2_star
        return [CriticalPoint(self.saddle_point(), "strict_saddle", 2 * n2**2 / 3, -2 * n2),
                CriticalPoint(np.zeros(self.dim), "local_max", 0.75 * n2**2, -3 * n2),
                CriticalPoint(self.w_star.copy(), "global_min", 0.0, 2 * n2)]
