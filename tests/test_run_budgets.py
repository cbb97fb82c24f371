"""No run can hang: a non-finite oracle answer or iterate ends it at once ('nonfinite'), and the
call and wall-clock budgets stop it ('max_oracle_calls', 'max_seconds')."""

from __future__ import annotations

import math

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


# --- call caps from the theory (issue 26 item 1) ---------------------------------------------------
from dataclasses import replace as _replace  # noqa: E402

from byzpgd.experiments import budget as budget_mod  # noqa: E402
from byzpgd.experiments import instances  # noqa: E402
from byzpgd.properties.checks import observe  # noqa: E402
from byzpgd.properties.strategies import sample_specs  # noqa: E402
from byzpgd.theory.claims import get  # noqa: E402

ITERATION_CLAIM = {"byzantine_pgd": "byzantine_pgd.iterations", "exact_pgd": "exact_pgd.iterations"}
GRAD_CLAIM = {"byzantine_pgd": "byzantine_pgd.grad_norm", "exact_pgd": "exact_pgd.grad_norm"}


def _small_cap_spec(family: str) -> dict:
    """The first instance of the family's iteration claim (ci draws, seed 0) whose theory cap is a
    at most 20 000 calls and needs no allowance (inside the claim's hypotheses)."""
    for spec in sample_specs(ITERATION_CLAIM[family], 60, 0):
        land = instances.build_landscape(spec)
        w0 = instances.start_point(spec, land)
        cap = instances.call_cap(spec, land, land.value(w0) - land.f_star)
        if cap.source == "theory" and cap.allowance == 0 and cap.calls < 20_000:
            return spec
    raise AssertionError("no small-cap instance among the draws")


def _never_stopping(factor: float = 1.0):
    """The theorem's algorithm with a gradient threshold no iterate reaches (a runaway: it would run
    until a cap stops it), capped at ``factor`` times the theory's cap (factor > 1: a fault raising
    the cap)."""
    def algorithm(spec, oracle, w0, rng):
        land = oracle.landscape
        cap = instances.call_cap(spec, land, land.value(w0) - land.f_star).calls
        if spec["family"] == "byzantine_pgd":
            from byzpgd.algorithms.byzantine_pgd import theorem_params
            p = theorem_params(spec["Delta"], land.L, land.rho, land.dim, budget_mod.FAILURE_PROBABILITY,
                               land.value(w0) - land.f_star)
        else:
            from byzpgd.algorithms.exact_pgd import theorem_params
            p = theorem_params(spec["epsilon"], land.L, land.rho, land.dim, budget_mod.FAILURE_PROBABILITY,
                               land.value(w0) - land.f_star, spec.get("variant", "proved"))
        return perturbed_gd(oracle, w0, _replace(p, epsilon=1e-300), rng,
                            max_oracle_calls=int(factor * cap), max_seconds=budget_mod.INSTANCE_SECONDS)
    return algorithm


def test_the_cap_is_the_smallest_call_count_above_the_bound():
    for bound in (0.0, 3.0, 862.3859270365047, 2402.86):
        cap = budget_mod.theorem_cap(bound)
        assert cap.source == "theory" and cap.calls > bound * (1 + budget_mod.CAP_RTOL)
        assert cap.calls - 1 <= bound * (1 + budget_mod.CAP_RTOL)      # one call fewer fits the bound
    assert budget_mod.theorem_cap(10.5, allowance=7).calls == 11 + 7
    assert budget_mod.theorem_cap(1e29).source == "safety"                  # above the safety stop
    assert budget_mod.theorem_cap(float("inf")).source == "safety"
    with pytest.raises(ValueError, match="bound"):
        budget_mod.theorem_cap(float("nan"))


@pytest.mark.parametrize("family", ["byzantine_pgd", "exact_pgd"])
def test_a_run_that_reaches_the_theory_cap_violates_the_iteration_claim(family):
    spec = _small_cap_spec(family)
    records = [instances.run(spec, _never_stopping()) for _ in range(2)]
    rec = records[0]
    bound = get(ITERATION_CLAIM[family]).bound(rec.values)
    assert rec.status == budget_mod.ITERATION_CAP and rec.cap_source == "theory"
    assert rec.oracle_calls == rec.max_calls == math.floor(bound * (1 + budget_mod.CAP_RTOL)) + 1
    # deterministic: the same calls and status whatever the time it took
    assert [(r.status, r.oracle_calls) for r in records[1:]] == [(rec.status, rec.oracle_calls)]
    it = observe(get(ITERATION_CLAIM[family]), rec)
    assert not it.holds and not it.vacuous and it.in_hypotheses and "call cap" in it.note
    grad = observe(get(GRAD_CLAIM[family]), rec)
    assert not grad.holds                          # no output within the theorem's count
    # the correct algorithm on the same instance stays well inside the cap
    ok = instances.run(spec)
    assert ok.status == "converged" and ok.oracle_calls < ok.max_calls


def test_a_cap_one_call_short_would_let_a_runaway_pass(monkeypatch):
    """The check above can fail: with the cap at floor(bound) (one call short) the same runaway
    stops inside the bound and the iteration claim would hold on it."""
    spec = _small_cap_spec("exact_pgd")
    short = lambda bound, allowance=0, safety=None: budget_mod.CallCap(  # noqa: E731
        math.floor(bound) + allowance, bound, allowance, "theory")
    monkeypatch.setattr(instances, "theorem_cap", short)
    rec = instances.run(spec, _never_stopping())
    assert observe(get("exact_pgd.iterations"), rec).holds


@pytest.mark.parametrize("family", ["byzantine_pgd", "exact_pgd"])
def test_a_fault_raising_the_cap_is_caught(family):
    """An algorithm that runs past the theory's cap (its own cap 3x higher) is judged at the
    theory's: status iteration_cap and a violated iteration claim, not a pass at 3x the bound."""
    spec = _small_cap_spec(family)
    rec = instances.run(spec, _never_stopping(factor=3.0))
    assert rec.oracle_calls > rec.max_calls and rec.status == budget_mod.ITERATION_CAP
    assert not observe(get(ITERATION_CLAIM[family]), rec).holds


def test_the_wall_clock_guard_gives_budget_not_a_violation(monkeypatch):
    """A run the wall-clock guard ends (here a guard of 0 s, so the outcome does not depend on the
    machine) is status budget: no verdict (not a violation), and the claim cannot hold."""
    from byzpgd.properties.checks import verdict

    spec = _small_cap_spec("exact_pgd")
    monkeypatch.setattr(budget_mod, "INSTANCE_SECONDS", 0.0)
    rec = instances.run(spec, _never_stopping())
    assert rec.status == budget_mod.BUDGET
    claim = get("exact_pgd.iterations")
    obs = observe(claim, rec)
    assert obs.budget_ended
    result = verdict(claim, [obs], [], budget_mod.FAILURE_PROBABILITY)
    assert result.status == "inconclusive" and result.violations == 0
    assert result.details["budget_ended"] == 1
