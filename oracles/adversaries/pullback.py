"""The pull-back adversary: the error drags every step toward the trap centre c (a strict
saddle, docs/paper.md §2):

    e(w) = f·Δ·(w − c)/‖w − c‖,  f ∈ (0, 1],

so that the gradient step −ηĝ = −η∇F(w) − ηe contains a displacement of length ηfΔ from the
iterate toward c. (Read as "the error's step points from the iterate toward the trap centre";
an error e pointing toward c would push the step away from it.)
"""

from __future__ import annotations

import numpy as np

from ..stacking import Stack, take_rows
from .base import BudgetFraction, clip_to_budget, trap_centre, unit


def pull_back_errors(W, Delta, fraction, centre):
    """e = fΔ·(w − c)/‖w − c‖ for query rows W (Δ, f numbers or columns; c a point or rows)."""
    return clip_to_budget(fraction * Delta * unit(np.asarray(W) - centre), Delta)


class PullBackStack(Stack):
    """:func:`pull_back_errors` for many trials, each with its own Δ, f and trap centre."""

    def __init__(self, items, trials, landscape):
        super().__init__(items, trials, landscape)
        self.fraction = np.array([x.fraction for x in self.items])
        self.centre = self.pad([x.centre for x in self.items])

    def errors(self, W, grad, idx):
        return pull_back_errors(W, self.column(self.delta, idx), self.column(self.fraction, idx),
                                take_rows(self.centre, self.at(idx)))


class PullBack(BudgetFraction):
    name = "pull_back"
    Stack = PullBackStack

    def __init__(self, landscape, delta, rng, fraction: float = 1.0):
        super().__init__(landscape, delta, rng, fraction)
        self.centre = trap_centre(landscape)

    def error(self, w, grad):
        return pull_back_errors(w, self.delta, self.fraction, self.centre)
