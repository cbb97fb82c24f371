"""The pull-back adversary: the error drags every step toward the trap centre c (a strict
saddle, docs/paper.md §2):

    e(w) = f·Δ·(w − c)/‖w − c‖,  f ∈ (0, 1],

so that the gradient step −ηĝ = −η∇F(w) − ηe contains a displacement of length ηfΔ from the
iterate toward c. (Read as "the error's step points from the iterate toward the trap centre";
an error e pointing toward c would push the step away from it.)
"""

from __future__ import annotations

import numpy as np

from .base import BudgetFraction, clip_to_budget, trap_centre, unit


def pull_back_errors(W, Delta, fraction, centre):
    """e = fΔ·(w − c)/‖w − c‖ for query rows W (Δ, f numbers or columns; c a point or rows)."""
    return clip_to_budget(fraction * Delta * unit(np.asarray(W) - centre), Delta)


class PullBack(BudgetFraction):
    name = "pull_back"

    def __init__(self, landscape, delta, rng, fraction: float = 1.0):
        super().__init__(landscape, delta, rng, fraction)
        self.centre = trap_centre(landscape)

    def batch_params(self) -> dict:
        return {"fraction": self.fraction, "centre": self.centre}

    def error(self, w, grad):
        return pull_back_errors(w, self.delta, self.fraction, self.centre)
