"""Random-noise adversaries (oblivious: they ignore the landscape's geometry).

- ``random_direction``: e = Δ·u/‖u‖, u ~ N(0, I): the worst-norm noise of the foundation
  (:class:`~byzpgd.oracles.inexact.RandomDirectionOracle`), drawn afresh at each call.
- ``uniform_ball``: e ~ Uniform(B_0(Δ)), radius Δ·U^{1/d} (docs/paper.md §1, Def. 1 allows any
  error in the ball).
"""

from __future__ import annotations

from ..stacking import Stack
from .base import Adversary, clip_to_budget, unit


def random_direction_errors(Z, Delta):
    """e = Δ·z/‖z‖ (clipped to the budget) for standard normal rows Z; Δ a number or one per row
    (a column)."""
    return clip_to_budget(Delta * unit(Z), Delta)


def uniform_ball_errors(Z, U, Delta, dim):
    """e = Δ·U^{1/d}·z/‖z‖: uniform in the Δ-ball for standard normal rows Z and uniforms U (one
    per row, a column); ``dim`` the dimension (a number or a column)."""
    return clip_to_budget(Delta * U ** (1.0 / dim) * unit(Z), Delta)


class RandomDirectionStack(Stack):
    """:func:`random_direction_errors` for many trials, each with its own draws."""

    def errors(self, W, grad, idx):
        return random_direction_errors(self.normals(idx)[0], self.column(self.delta, idx))


class UniformBallStack(Stack):
    """:func:`uniform_ball_errors` for many trials, each with its own draws and dimension."""

    def errors(self, W, grad, idx):
        Z, U = self.normals(idx, uniform=True)
        return uniform_ball_errors(Z, U, self.column(self.delta, idx), self.column(self.dims, idx))


class RandomDirection(Adversary):
    name = "random_direction"
    Stack = RandomDirectionStack

    def error(self, w, grad):
        return random_direction_errors(self.rng.standard_normal(grad.shape), self.delta)


class UniformBall(Adversary):
    name = "uniform_ball"
    Stack = UniformBallStack

    def error(self, w, grad):
        Z = self.rng.standard_normal(grad.shape)
        U = self.rng.random(grad.shape[:-1] + (1,))
        return uniform_ball_errors(Z, U, self.delta, grad.shape[-1])
