"""Lower-bound constructions (claims lower_bound.*, docs/paper.md §7): the random-phase family and
F_± against every registered algorithm, the Huber shift coupling of the Gaussian location model
against every registered aggregator; each check shown able to fail."""

import copy
import math

import numpy as np
import pytest
import sympy as sp
from scipy.stats import ks_2samp

from byzpgd.algorithms import OptimizeResult
from byzpgd.algorithms.aggregators import AGGREGATORS
from byzpgd.properties.suites import lower_bounds as suite
from byzpgd.theory import lower_bounds as lb

N = 24  # >= MIN_NONVACUOUS runs per algorithm / aggregator


def test_paper_family_symbolic_checks_are_all_proved():
    subs = lb.family_symbolic_checks()
    assert all(s.status == "proved" for s in subs), [(s.name, s.evidence) for s in subs if not s.proved]


@pytest.mark.parametrize("family, wrong", [(lb.CosineFamily(amplitude=1.01), "oracle_inexact"),
                                           (lb.CosineFamily(scale=0.5), "hessian_lipschitz")])
def test_wrong_members_are_caught_symbolically(family, wrong):
    bad = {s.name for s in lb.family_symbolic_checks(family) if s.status == "disproved"}
    assert wrong in bad


@pytest.mark.parametrize("a, b", [(1.0, 1.0), (1.01, 1.0), (1.0, 0.5), (1.3, 0.7)])
def test_members_match_the_family_formula(a, b):
    """family.member (a RandomPhaseCosine with amplitude a and scale b) has the value, first and
    second derivative along w_1 of the SymPy expression of the family, and its stated ρ_F is
    sup |∂³_111 F| = (a/b²)ρ."""
    family = lb.CosineFamily(amplitude=a, scale=b)
    Delta, rho, L, theta = 1e-3, 2.0, 0.7, 0.01
    land = family.member(3, Delta, rho, L, theta)
    expr = family.sympy_first_coordinate()
    w1 = lb._w1
    subs = {lb._D: Delta, lb._rho: rho, lb._th: theta}
    rng = np.random.default_rng(0)
    for _ in range(5):
        w = rng.standard_normal(3) * 0.1
        at = {**subs, w1: w[0]}
        quad = 0.5 * L * (w[1:] @ w[1:])
        assert math.isclose(land.value(w), float(expr.subs(at)) + quad, rel_tol=1e-10, abs_tol=1e-18)
        assert math.isclose(land.grad(w)[0], float(sp.diff(expr, w1).subs(at)), rel_tol=1e-10,
                            abs_tol=1e-18)
        assert math.isclose(land.hess_diag(w)[0], float(sp.diff(expr, w1, 2).subs(at)), rel_tol=1e-10,
                            abs_tol=1e-15)
    assert math.isclose(land.rho, a / b**2 * rho, rel_tol=1e-12)


@pytest.mark.parametrize("claim_id, order", [("lower_bound.first_order", "first"),
                                             ("lower_bound.second_order", "second")])
def test_optimization_lower_bound_holds_for_every_algorithm(claim_id, order):
    entry = suite.optimization_check(claim_id, order, n=N)
    assert entry["status"] == "holds", entry.get("worst_violation")
    assert set(entry["per_algorithm"]) == set(lb.ALGORITHM_RUNNERS)
    assert entry["instances"] == N * len(lb.ALGORITHM_RUNNERS)


@pytest.mark.parametrize("family", [lb.CosineFamily(amplitude=1.01), lb.CosineFamily(scale=0.5)])
def test_optimization_check_flags_a_wrong_family(family):
    entry = suite.optimization_check("lower_bound.first_order", "first", n=N, family=family,
                                     runners={"robust_gd": lb.ALGORITHM_RUNNERS["robust_gd"]})
    assert entry["status"] == "violated"
    det = entry["worst_violation"]["deterministic"]
    assert det and any("Delta" in p or "rho" in p for p in det[0]["problems"])


def test_optimization_check_flags_an_algorithm_that_knows_theta(monkeypatch):
    """A leaky 'algorithm' that reads θ returns the global minimizer θ + πs: it never fails, so
    the binomial test must reject P(fail) >= 2/3 (and >= 1/3: (2/3)^40 < 1e-6 needs 40 runs)."""
    seen = {}
    real = suite._rng

    def spy(seed, claim_id, name, i, stream):
        g = real(seed, claim_id, name, i, stream)
        if stream == 2:
            seen["theta_rng"] = g
        return g

    def cheat(oracle, w0, rng):
        land = oracle.landscape
        delta, rho = oracle.delta, land.rho
        theta = copy.deepcopy(seen["theta_rng"]).uniform(0.0, 2 * math.pi * math.sqrt(delta / rho))
        w = np.zeros(land.dim)
        w[0] = theta + math.pi * math.sqrt(delta / rho)
        return OptimizeResult(w=w, grad_oracle_calls=0, gd_steps=0, escape_rounds=0, escapes=0,
                              status="converged")

    monkeypatch.setattr(suite, "_rng", spy)
    for claim_id, order in (("lower_bound.first_order", "first"), ("lower_bound.second_order", "second")):
        entry = suite.optimization_check(claim_id, order, n=40, runners={"cheat": cheat})
        assert entry["status"] == "violated" and entry["worst_violation"]["binomial"] == ["cheat"]
        assert entry["per_algorithm"]["cheat"]["failures"] == 0


def test_a_new_algorithm_is_picked_up(monkeypatch):
    runner = lb.ALGORITHM_RUNNERS["robust_gd"]
    monkeypatch.setitem(lb.ALGORITHM_RUNNERS, "gd_again", lambda o, w0, rng: runner(o, w0, rng))
    entry = suite.optimization_check("lower_bound.second_order", "second", n=N)
    assert "gd_again" in entry["per_algorithm"]


# --- §7.2: Gaussian location ----------------------------------------------------------------------
def test_coupling_constant_is_at_least_sqrt_2pi():
    for a in (1e-4, 0.01, 0.1, 0.2, 0.4):
        assert lb.coupling_c(a) >= math.sqrt(2 * math.pi) * (1 - 1e-9)
    assert lb.coupling_c(1e-6) == pytest.approx(math.sqrt(2 * math.pi), rel=1e-4)
    with pytest.raises(ValueError, match="alpha"):
        lb.coupling_c(0.6)


def test_tv_and_residual_measure_symbolic():
    assert all(s.status == "proved" for s in lb.tv_symbolic_checks())


def _first_coords(coup, world, reps, rng):
    X, _ = coup.sample_messages(world, reps, 1, np.zeros(1), 1.0, rng)
    return X[:, 0]


def test_both_worlds_produce_identically_distributed_messages():
    coup = lb.HuberShiftCoupling.largest(0.2)
    _, _, mm, qa, qb = coup.densities(np.linspace(-8, 12, 2001))
    assert qa.min() >= -1e-15 and qb.min() >= -1e-15
    xa = _first_coords(coup, "A", 40_000, np.random.default_rng(1))
    xb = _first_coords(coup, "B", 40_000, np.random.default_rng(2))
    assert ks_2samp(xa, xb).pvalue > 1e-6
    # without the Byzantine messages the worlds are told apart easily
    ha = np.random.default_rng(3).standard_normal(40_000)
    hb = np.random.default_rng(4).standard_normal(40_000) + coup.h
    assert ks_2samp(ha, hb).pvalue < 1e-6


def test_a_too_large_shift_breaks_the_coupling():
    with pytest.raises(ValueError, match="too large"):
        lb.HuberShiftCoupling(0.2, 3 * lb.coupling_c(0.2) * 0.2)
    coup = lb.HuberShiftCoupling(0.2, 3 * lb.coupling_c(0.2) * 0.2, check=False)
    _, _, _, qa, _ = coup.densities(np.linspace(-8, 12, 2001))
    assert not coup.valid and qa.min() < 0            # the residual is not a measure
    xa = _first_coords(coup, "A", 40_000, np.random.default_rng(1))
    xb = _first_coords(coup, "B", 40_000, np.random.default_rng(2))
    assert ks_2samp(xa, xb).pvalue < 1e-6             # and the worlds become distinguishable


def test_statistical_lower_bound_holds_for_every_registered_aggregator():
    entry = suite.statistical_check(n=N)
    assert entry["status"] == "holds", entry.get("worst_violation")
    assert entry["aggregators"] == list(AGGREGATORS)
    c = entry["constants"]
    assert c["c_prime"] >= 0.25 and c["c_theta_min"] >= math.sqrt(2 * math.pi)


def test_an_aggregator_that_knows_mu_is_flagged():
    def make(name, m, f, mu):
        return lambda X: np.array(mu, dtype=float)

    entry = suite.statistical_check(n=N, names=["oracle"], make_aggregator=make)
    assert entry["status"] == "violated" and entry["worst_violation"]["aggregators"] == ["oracle"]
    r = entry["per_aggregator"]["oracle"]
    assert r["failures_A"] == r["failures_B"] == r["failures_C"] == 0


def test_a_new_aggregator_is_picked_up(monkeypatch):
    monkeypatch.setitem(AGGREGATORS, "first_row", lambda m, f: (lambda X: np.asarray(X)[0].copy()))
    entry = suite.statistical_check(n=N, names=None)
    assert "first_row" in entry["per_aggregator"] and entry["status"] == "holds"
