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


class PullBack(BudgetFraction):
    name = "pull_back"

    def __init__(self, landscape, delta, rng, fraction: float = 1.0):
        super().__init__(landscape, delta, rng, fraction)
        self.centre = trap_centre(landscape)

    def error(self, w, grad):
        return clip_to_budget(self.fraction * self.delta * unit(np.asarray(w) - self.centre),
                              self.delta)
