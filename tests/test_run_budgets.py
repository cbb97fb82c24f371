"""No run can hang: a non-finite oracle answer or iterate ends it at once ('nonfinite'), and the
call and wall-clock budgets stop it ('max_oracle_calls', 'max_seconds')."""

from __future__ import annotations

import numpy as np
import pytest

from byzpgd.algorithms import PGDParams, perturbed_gd, robust_gd
from byzpgd.oracles.inexact import ExactOracle
from byzpgd.oracles.landscapes import CosineSaddle


class _Quadratic:
    """F(w) = (L/2)‖w‖², the landscape on which GD with η > 2/L diverges geometrically."""

    def __init__(self, dim, L=1.0):
        self.dim, self.L, self.rho, self.f_star = dim, L, 0.0, 0.0

    def value(self, w):
        return 0.5 * self.L * float(w @ w)

    def grad(self, w):
        return self.L * np.asarray(w, float)


class _Oracle:
    delta = 0.0

    def __init__(self, landscape, poison_after=None):
        self.landscape, self.calls, self.poison_after = landscape, 0, poison_after

    def __call__(self, w):
        self.calls += 1
        g = self.landscape.grad(w)
        if self.poison_after is not None and self.calls > self.poison_after:
            g = g.copy()
            g[0] = np.nan
        return g


def test_an_unstable_step_ends_as_nonfinite_not_at_the_call_cap():
    land = _Quadratic(3)
    p = PGDParams(eta=2.5 / land.L, epsilon=1e-3, r=0.0, Q=0, R=1.0, T_th=1)
    res = perturbed_gd(_Oracle(land), np.ones(3), p, np.random.default_rng(0),
                       max_oracle_calls=10**7)
    assert res.status == "nonfinite"
    assert res.grad_oracle_calls < 5000          # |1 − 2.5|^t overflows after ~1750 steps
    assert not res.success


def test_a_nan_answer_ends_the_run_at_that_call():
    land = _Quadratic(2)
    oracle = _Oracle(land, poison_after=7)
    res = robust_gd(oracle, np.ones(2) * 10, eta=0.1, epsilon=1e-12, max_oracle_calls=10**6)
    assert res.status == "nonfinite" and res.grad_oracle_calls == 8


def test_a_nan_answer_inside_batched_rounds_ends_the_run():
    land = CosineSaddle.random(3, np.random.default_rng(0))
    exact = ExactOracle(land)

    class Poisoned:
        landscape, delta, batchable = land, 0.0, True

        def __call__(self, w):
            g = exact(w)
            return g if np.ndim(w) == 1 else np.full_like(g, np.inf)

    p = PGDParams(eta=1.0, epsilon=1e-3, r=1e-2, Q=5, R=10.0, T_th=50)
    res = perturbed_gd(Poisoned(), land.saddle().point, p, np.random.default_rng(1))
    assert res.status == "nonfinite"


def test_the_wall_clock_budget_stops_a_run():
    land = CosineSaddle.random(3, np.random.default_rng(0))
    # a threshold no iterate can reach: the run would use its whole call budget
    p = PGDParams(eta=1e-9, epsilon=1e-300, r=0.0, Q=0, R=1.0, T_th=1)
    res = perturbed_gd(ExactOracle(land), np.full(3, 0.3), p, np.random.default_rng(0),
                       max_oracle_calls=10**9, max_seconds=0.2)
    assert res.status == "max_seconds"
    assert 0 < res.grad_oracle_calls < 10**9


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_nonfinite_start_is_rejected(bad):
    land = _Quadratic(2)
    p = PGDParams(eta=1.0, epsilon=1e-3, r=0.0, Q=0, R=1.0, T_th=1)
    with pytest.raises(ValueError, match="finite"):
        perturbed_gd(_Oracle(land), np.array([1.0, bad]), p, np.random.default_rng(0))


def test_jin_pgd_has_the_same_budgets():
    from byzpgd.algorithms.jin_pgd import jin_pgd

    land = CosineSaddle.random(3, np.random.default_rng(0))
    res = jin_pgd(ExactOracle(land), np.full(3, 0.3), np.random.default_rng(0), epsilon=1e-100,
                  max_oracle_calls=10**9, max_seconds=0.2)
    assert res.status == "max_seconds" and 0 < res.grad_oracle_calls < 10**9
    quad = _Quadratic(2)
    quad.rho = 1.0                                   # Jin's parameters need ρ > 0
    poisoned = _Oracle(quad, poison_after=3)
    res = jin_pgd(poisoned, np.ones(2), np.random.default_rng(0), epsilon=1e-6, value=quad.value)
    assert res.status == "nonfinite"
