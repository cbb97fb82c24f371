"""Random-noise adversaries (oblivious: they ignore the landscape's geometry).

- ``random_direction``: e = Δ·u/‖u‖, u ~ N(0, I): the worst-norm noise of the foundation
  (:class:`~byzpgd.oracles.inexact.RandomDirectionOracle`), drawn afresh at each call.
- ``uniform_ball``: e ~ Uniform(B_0(Δ)), radius Δ·U^{1/d} (docs/paper.md §1, Def. 1 allows any
  error in the ball).
"""

from __future__ import annotations

from .base import Adversary, clip_to_budget, unit


class RandomDirection(Adversary):
    name = "random_direction"

    def error(self, w, grad):
        return clip_to_budget(self.delta * unit(self.rng.standard_normal(grad.shape)), self.delta)


class UniformBall(Adversary):
    name = "uniform_ball"

    def error(self, w, grad):
        u = unit(self.rng.standard_normal(grad.shape))
        radius = self.rng.random(grad.shape[:-1] + (1,)) ** (1.0 / grad.shape[-1])
        return clip_to_budget(self.delta * radius * u, self.delta)
