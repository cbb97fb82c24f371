"""Random-phase cosine family of the optimization lower bound (docs/paper.md §7.1, OWN).

With s = √(Δ/ρ) and a phase θ ∈ [0, 2πs),

    F_θ(w) = Δ s cos((w_1 − θ)/s) + (L/2) Σ_{k>=2} w_k².

∂_1F_θ = −Δ sin(φ), ∂²_11F_θ = −√(ρΔ) cos(φ), ∂³_111F_θ = ρ sin(φ) with φ = (w_1 − θ)/s, so
F_θ is ρ-Hessian-Lipschitz, max(L, √(ρΔ))-smooth and F* = −Δs. The shared oracle
ĝ(w) = (0, L w_2, ..., L w_d) is Δ-inexact for every θ and does not depend on θ.

``amplitude`` a and ``scale`` b (both 1 in the paper's family) give the member
aΔ·(bs)·cos((w_1 − θ)/(bs)) + (L/2)Σ w_k², with derivatives −aΔ sin φ, −(a/b)√(ρΔ) cos φ,
(a/b²)ρ sin φ along w_1: its certified constants are ρ_F = (a/b²)ρ, L_F = max(L, (a/b)√(ρΔ)).
Members with a > 1 or b < 1 are the deliberately wrong ones of the able-to-fail checks
(theory.lower_bounds.CosineFamily).
"""

from __future__ import annotations

import numpy as np

from byzpgd.geometry import as_point, as_rows

from .base import CriticalPoint, Landscape, _rotation_scale


class RandomPhaseCosine(Landscape):
    name = "random_phase_cosine"

    def __init__(self, dim: int, delta: float, rho: float = 1.0, L: float = 1.0,
                 theta: float = 0.0, *, amplitude: float = 1.0, scale: float = 1.0):
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        for label, x in (("delta", delta), ("rho", rho), ("L", L), ("amplitude", amplitude),
                         ("scale", scale)):
            if not (np.isfinite(x) and x > 0):
                raise ValueError(f"{label} must be finite and > 0, got {x}")
        if not np.isfinite(theta):
            raise ValueError(f"theta must be finite, got {theta}")
        self.dim, self.delta, self.rho_param, self.L_quad = int(dim), float(delta), float(rho), float(L)
        self.a = float(amplitude)
        self.s = float(scale * np.sqrt(delta / rho))
        self.theta = float(theta)
        self.L = float(max(L, amplitude / scale * np.sqrt(rho * delta)))
        self.rho = float(amplitude / scale**2 * rho)
        self.f_star = -self.a * self.delta * self.s

    @classmethod
    def random(cls, dim, delta, rng: np.random.Generator, rho=1.0, L=1.0):
        """θ uniform on [0, 2πs): the draw of the lower-bound argument."""
        s = np.sqrt(delta / rho)
        return cls(dim, delta, rho, L, theta=rng.uniform(0.0, 2.0 * np.pi * s))

    def phase(self, w):
        return (np.asarray(w)[..., 0] - self.theta) / self.s

    def value(self, w):
        w = as_point(w, self.dim)
        return float(self.a * self.delta * self.s * np.cos(self.phase(w))
                     + 0.5 * self.L_quad * w[1:] @ w[1:])

    def values(self, W):
        W = as_rows(W, self.dim)
        return (self.a * self.delta * self.s * np.cos(self.phase(W))
                + 0.5 * self.L_quad * np.einsum("ki,ki->k", W[:, 1:], W[:, 1:]))

    def value_changes(self, W0, W1):
        """Each term differenced analytically: cos φ₁ − cos φ₀ = −2 sin((φ₁ − φ₀)/2) sin((φ₁ + φ₀)/2)
        and ‖v₁‖² − ‖v₀‖² = (v₁ − v₀)·(v₁ + v₀) for the quadratic coordinates."""
        W0, W1 = as_rows(W0, self.dim), as_rows(W1, self.dim)
        D, S = W1 - W0, W1 + W0
        cos_term = (-2.0 * self.a * self.delta * self.s * np.sin(D[:, 0] / (2.0 * self.s))
                    * np.sin((S[:, 0] - 2.0 * self.theta) / (2.0 * self.s)))
        quad = 0.5 * self.L_quad * np.einsum("ki,ki->k", D[:, 1:], S[:, 1:])
        scale = np.abs(cos_term) + 0.5 * self.L_quad * np.abs(D[:, 1:] * S[:, 1:]).sum(axis=1)
        return cos_term + quad, scale + _rotation_scale(self.L, D, S)

    def grad(self, w):
        w = np.asarray(w, dtype=np.float64)
        g = self.L_quad * w
        g[..., 0] = -self.a * self.delta * np.sin(self.phase(w))
        return g

    def shared_oracle(self, w):
        """ĝ(w) = (0, L w_2, ..., L w_d): Δ-inexact for every θ."""
        g = self.L_quad * np.asarray(w, dtype=np.float64)
        g[..., 0] = 0.0
        return g

    def hess_diag(self, w):
        w = as_point(w, self.dim)
        h = np.full(self.dim, self.L_quad)
        h[0] = -self.a * self.delta / self.s * np.cos(self.phase(w))
        return h

    def hvp(self, w, v):
        return self.hess_diag(w) * np.asarray(v, dtype=np.float64)

    def hess(self, w):
        return np.diag(self.hess_diag(w))

    def critical_points(self):
        w_max = np.zeros(self.dim)
        w_max[0] = self.theta
        w_min = w_max.copy()
        w_min[0] = self.theta + np.pi * self.s
        curv = self.a * self.delta / self.s
        top_kind = "local_max" if self.dim == 1 else "strict_saddle"
        lam_at_min = curv if self.dim == 1 else min(curv, self.L_quad)
        return [CriticalPoint(w_max, top_kind, self.a * self.delta * self.s, -curv),
                CriticalPoint(w_min, "global_min", self.f_star, lam_at_min)]
