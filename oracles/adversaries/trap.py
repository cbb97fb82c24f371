"""Saddle-point attacks: a fake local minimum planted near a strict saddle (docs/paper.md §2).

``trap`` (any landscape). Let c be a strict saddle, V the orthonormal eigenvectors of ∇²F(c)
with negative eigenvalues −γ_j, and g_V = Vᵀ∇F(w) the escape component of the gradient. The
error cancels it within the budget:

    e(w) = clip_Δ(−κ V g_V),  κ ∈ [1.5, 2.5]   (κ = 2 in docs/paper.md §2).

Near c, g_V ≈ −diag(γ) Vᵀ(w − c), so while κ‖g_V‖ <= Δ the reported gradient along V is
(1 − κ) g_V: fake positive curvature (κ − 1)γ_j; beyond, the full budget Δ still opposes the
escape, so along a direction of curvature −γ the fake basin is |y| < Δ/γ (docs/paper.md §2:
"any perturbation whose e_1 component is < Δ/γ returns to 0"). Robust GD started in the basin
converges to c and stops there (‖ĝ‖ <= 3Δ) although λ_min(∇²F(c)) = −γ.

``target_field`` plants a fake minimum at any chosen point p with ‖∇F(p)‖ < Δ:
e(w) = clip_Δ(κ_f (w − p) − ∇F(w)), so ĝ = κ_f (w − p) exactly wherever that is within the
budget (a ball of radius about (Δ − ‖∇F(p)‖)/(κ_f + L_F) around p): gradient descent on the
reported field converges to p. Here p = c + t·u with u a random unit vector (seeded) and
t = offset·Δ/(2 L_F), so ‖∇F(p)‖ <= offset·Δ/2.
"""

from __future__ import annotations

import numpy as np

from ..stacking import Stack, per_trial_product, take_rows
from .base import Adversary, clip_to_budget, saddle_eigenspace, trap_centre


def trap_errors(G_escape, Delta, kappa):
    """e = −κ·V Vᵀ∇F given the escape component G_escape = V Vᵀ∇F of each gradient row (Δ, κ
    numbers or columns)."""
    return clip_to_budget(-kappa * G_escape, Delta)


def target_field_errors(W, G, Delta, kappa_f, target):
    """e = κ_f (w − p) − ∇F(w) for query rows W and gradient rows G (p a point or rows)."""
    return clip_to_budget(kappa_f * (np.asarray(W) - target) - G, Delta)


def escape_components(grad, at, V, VT):
    """V Vᵀ∇F of gradient rows whose trials' eigenspaces are ``V`` (n, dim, k) at positions ``at``
    (``VT`` the transposes), by the batch's one product kernel."""
    return per_trial_product(per_trial_product(grad, at, V), at, VT)


class TrapStack(Stack):
    """:func:`trap_errors` for many trials, each with its own Δ, κ and eigenspace V."""

    def __init__(self, items, trials, landscape):
        super().__init__(items, trials, landscape)
        self.kappa = np.array([x.kappa for x in self.items])
        self.V, self.VT = self.matrices([x.V for x in self.items])

    def errors(self, W, grad, idx):
        return trap_errors(escape_components(grad, self.at(idx), self.V, self.VT),
                           self.column(self.delta, idx), self.column(self.kappa, idx))


class TargetFieldStack(Stack):
    """:func:`target_field_errors` for many trials, each with its own Δ, κ_f and target p."""

    def __init__(self, items, trials, landscape):
        super().__init__(items, trials, landscape)
        self.kappa_f = np.array([x.kappa_f for x in self.items])
        self.target = self.pad([x.target for x in self.items])

    def errors(self, W, grad, idx):
        return target_field_errors(W, grad, self.column(self.delta, idx), self.column(self.kappa_f, idx),
                                   take_rows(self.target, self.at(idx)))


class Trap(Adversary):
    name = "trap"
    Stack = TrapStack

    def __init__(self, landscape, delta, rng, kappa: float = 2.0):
        if not 1.0 < kappa < 3.0:
            raise ValueError(f"kappa must be in (1, 3), got {kappa}")
        super().__init__(landscape, delta, rng, kappa=float(kappa))
        self.kappa = float(kappa)
        self.centre, self.V, self.gammas = saddle_eigenspace(landscape)

    @classmethod
    def sample_params(cls, src):
        return {"kappa": 2.0 if src.uniform(0, 1) < 0.5 else src.uniform(1.5, 2.5)}

    def error(self, w, grad):
        return trap_errors((grad @ self.V) @ self.V.T, self.delta, self.kappa)


class TargetField(Adversary):
    name = "target_field"
    Stack = TargetFieldStack

    def __init__(self, landscape, delta, rng, kappa: float = 0.5, offset: float = 0.5):
        if not 0 < kappa <= 1:
            raise ValueError(f"kappa (fake curvature in units of L_F) must be in (0, 1], got {kappa}")
        if not 0 <= offset <= 1:
            raise ValueError(f"offset must be in [0, 1], got {offset}")
        super().__init__(landscape, delta, rng, kappa=float(kappa), offset=float(offset))
        self.kappa_f = float(kappa) * landscape.L
        u = rng.standard_normal(landscape.dim)
        u /= np.linalg.norm(u)
        self.target = trap_centre(landscape) + offset * delta / (2 * landscape.L) * u

    @classmethod
    def sample_params(cls, src):
        return {"kappa": src.uniform(0.1, 1.0), "offset": src.uniform(0.0, 1.0)}

    def error(self, w, grad):
        return target_field_errors(w, grad, self.delta, self.kappa_f, self.target)
