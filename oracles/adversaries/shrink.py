"""The shrink adversary: e(w) = −f·min(Δ, ‖∇F(w)‖)·∇F/‖∇F‖, f ∈ (0, 1] (default 1).

ĝ = ∇F·(1 − fΔ/‖∇F‖): the reported gradient is shorter by fΔ, so the stopping test
‖ĝ‖ <= ε = 3Δ of Algorithm 1 (docs/paper.md §3) fires as early as possible, at ‖∇F‖ = 3Δ + fΔ.
With f = 1 the output of ByzantinePGD approaches ‖∇F(w̃)‖ = 4Δ: the bound of Theorem 1 is tight
(docs/paper.md §4, internal check: ‖∇F‖ <= ε + Δ).
"""

from __future__ import annotations

import numpy as np

from ..stacking import Stack
from .base import BudgetFraction, clip_to_budget, norms, unit


def shrink_errors(G, Delta, fraction):
    """e = −min(fΔ, ‖g‖)·g/‖g‖ for gradient rows G (Δ and f numbers or columns)."""
    size = np.minimum(fraction * Delta, norms(G)[..., None])
    return clip_to_budget(-size * unit(G), Delta)


class ShrinkStack(Stack):
    """:func:`shrink_errors` for many trials, each with its own Δ and f."""

    def __init__(self, items, trials, landscape):
        super().__init__(items, trials, landscape)
        self.fraction = np.array([x.fraction for x in self.items])

    def errors(self, W, grad, idx):
        return shrink_errors(grad, self.column(self.delta, idx), self.column(self.fraction, idx))


class Shrink(BudgetFraction):
    name = "shrink"
    Stack = ShrinkStack

    def error(self, w, grad):
        return shrink_errors(grad, self.delta, self.fraction)
