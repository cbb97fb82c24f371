"""Lower-bound constructions (claims lower_bound.*, docs/paper.md §7): the random-phase family and
F_± against every registered algorithm, the Huber shift coupling of the Gaussian location model
against every registered aggregator; each check shown able to fail."""

import copy
import json
import math

import numpy as np
import pytest
import sympy as sp
from scipy.stats import ks_2samp

from byzpgd.algorithms import OptimizeResult
from byzpgd.algorithms.aggregators import AGGREGATORS
from byzpgd.experiments import lower_bounds as exp
from byzpgd.properties.result import MIN_NONVACUOUS
from byzpgd.properties.suites import lower_bounds as suite
from byzpgd.seeding import instance_rng
from byzpgd.theory import lower_bounds as lb
from byzpgd.theory.claims import get
from byzpgd.theory.symbols import Delta as DELTA
from byzpgd.theory.symbols import rho_F

# this file holds these claims' own tests (byzpgd claims --where)
TESTED_CLAIMS = (
    "lower_bound.first_order",
    "lower_bound.second_order",
    "lower_bound.statistical",
)

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
    """exp.member (a RandomPhaseCosine with amplitude a and scale b) has the value, first and
    second derivative along w_1 of the SymPy expression of the family, and its stated ρ_F is
    sup |∂³_111 F| = (a/b²)ρ."""
    family = lb.CosineFamily(amplitude=a, scale=b)
    Delta, rho, L, theta = 1e-3, 2.0, 0.7, 0.01
    land = exp.member(family, 3, Delta, rho, L, theta)
    expr = family.sympy_first_coordinate()
    subs = {DELTA: Delta, rho_F: rho, lb.THETA: theta}
    rng = np.random.default_rng(0)
    for _ in range(5):
        w = rng.standard_normal(3) * 0.1
        at = {**subs, lb.W1: w[0]}
        quad = 0.5 * L * (w[1:] @ w[1:])
        assert math.isclose(land.value(w), float(expr.subs(at)) + quad, rel_tol=1e-10, abs_tol=1e-18)
        assert math.isclose(land.grad(w)[0], float(sp.diff(expr, lb.W1).subs(at)), rel_tol=1e-10,
                            abs_tol=1e-18)
        assert math.isclose(land.hess_diag(w)[0], float(sp.diff(expr, lb.W1, 2).subs(at)), rel_tol=1e-10,
                            abs_tol=1e-15)
    assert math.isclose(land.rho, a / b**2 * rho, rel_tol=1e-12)
    assert math.isclose(family.period(Delta, rho), 2 * math.pi * land.s, rel_tol=1e-12)


def test_claims_read_the_constructions_probabilities():
    assert get("lower_bound.first_order").constant == pytest.approx(1 / 3)
    assert get("lower_bound.second_order").constant == pytest.approx(2 / 3)
    assert get("lower_bound.statistical").constant == 0.5
    assert lb.grad_lower(0.2) == pytest.approx(0.1) and lb.lambda_lower(2.0, 0.5) == pytest.approx(0.5)


def test_specs_replay_from_their_seed_words():
    """An instance's spec carries (seed, key, index): the draw is instance_rng's, so the spec
    alone replays the run."""
    key = "lower_bound.first_order/robust_gd"
    specs = exp.optimization_specs(key, "robust_gd", 3, seed=5)
    assert specs[2]["w0"] == exp.sample_opt_instance(instance_rng(5, key, 2, 0))["w0"]
    json.dumps(specs)
    again = exp.optimization_trial(json.loads(json.dumps(specs[1])))
    assert again == exp.optimization_trial(specs[1])
    assert specs != exp.optimization_specs(key, "robust_gd", 3, seed=6)


@pytest.mark.parametrize("claim_id, order", [("lower_bound.first_order", "first"),
                                             ("lower_bound.second_order", "second")])
def test_optimization_lower_bound_holds_for_every_algorithm(claim_id, order):
    res = suite.optimization_check(claim_id, order, n=N)
    assert res.status == "holds", res.details
    assert set(res.adversaries) == set(exp.ALGORITHM_RUNNERS) and res.details["groups"] == "algorithm"
    assert res.instances == N * len(exp.ALGORITHM_RUNNERS) and res.violations == 0
    assert res.binomial is not None and not res.binomial.rejects
    json.dumps(res.to_json(), allow_nan=False)


def test_too_few_runs_per_algorithm_is_inconclusive():
    res = suite.optimization_check("lower_bound.first_order", "first", n=MIN_NONVACUOUS - 1,
                                   runners={"robust_gd": exp.ALGORITHM_RUNNERS["robust_gd"]})
    assert res.status == "inconclusive"


@pytest.mark.parametrize("family", [lb.CosineFamily(amplitude=1.01), lb.CosineFamily(scale=0.5)])
def test_optimization_check_flags_a_wrong_family(family):
    res = suite.optimization_check("lower_bound.first_order", "first", n=N, family=family,
                                   runners={"robust_gd": exp.ALGORITHM_RUNNERS["robust_gd"]})
    assert res.status == "violated"
    det = res.details["deterministic"]
    assert det and any("Delta" in p or "rho" in p for p in det[0]["problems"])


def test_optimization_check_flags_an_algorithm_that_knows_theta(monkeypatch):
    """A leaky 'algorithm' that reads θ returns the global minimizer θ + πs: it never fails, so
    the binomial test must reject P(fail) >= 2/3 (and >= 1/3: (2/3)^40 < 1e-6 needs 40 runs)."""
    seen = {}
    real = exp.instance_rng

    def spy(seed, key, i, *streams):
        g = real(seed, key, i, *streams)
        if streams == (2,):
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

    monkeypatch.setattr(exp, "instance_rng", spy)
    for claim_id, order in (("lower_bound.first_order", "first"), ("lower_bound.second_order", "second")):
        res = suite.optimization_check(claim_id, order, n=40, runners={"cheat": cheat})
        assert res.status == "violated" and res.details["binomial_rejected"] == ["cheat"]
        assert res.adversaries["cheat"].extra["failures"] == 0 and res.binomial.rejects


def test_a_new_algorithm_is_picked_up(monkeypatch):
    runner = exp.ALGORITHM_RUNNERS["robust_gd"]
    monkeypatch.setitem(exp.ALGORITHM_RUNNERS, "gd_again", lambda o, w0, rng: runner(o, w0, rng))
    res = suite.optimization_check("lower_bound.second_order", "second", n=N)
    assert "gd_again" in res.adversaries


def test_a_crashing_algorithm_is_an_error_not_a_pass():
    def crash(oracle, w0, rng):
        raise RuntimeError("boom")

    res = suite.optimization_check("lower_bound.first_order", "first", n=N, runners={"crash": crash})
    assert res.status == "error" and res.errors == N and "boom" in res.error_examples[0]["error"]


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
    X, _ = exp.sample_messages(coup, world, reps, 1, np.zeros(1), 1.0, rng)
    return X[:, 0]


def test_both_worlds_produce_identically_distributed_messages():
    coup = lb.HuberShiftCoupling.largest(0.2)
    _, _, mm, qa, qb = coup.densities(np.linspace(-8, 12, 2001))
    assert qa.min() >= -1e-15 and qb.min() >= -1e-15
    assert coup.mixture_gap(np.linspace(-8, 12, 2001)) < 1e-15
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


def test_bayesian_threshold_is_the_posterior_median_radius():
    """r = √(v·median χ²_d) with v = (1/s² + nm/σ²)^{-1}: half the posterior mass lies beyond r."""
    v = lb.posterior_variance(4, 10, 2.0)
    s2 = lb.PRIOR_SCALE2 * 2.0**2 / 40
    assert v == pytest.approx(1 / (1 / s2 + 40 / 4.0))
    x = np.random.default_rng(0).standard_normal((200_000, 3)) * math.sqrt(v)
    assert np.mean(np.linalg.norm(x, axis=1) >= lb.anderson_radius(v, 3)) == pytest.approx(0.5, abs=0.01)


def test_statistical_lower_bound_holds_for_every_registered_aggregator():
    res = suite.statistical_check(n=N)
    assert res.status == "holds", res.details
    assert res.details["aggregators"] == list(AGGREGATORS) == list(res.adversaries)
    c = res.details["constants"]
    assert c["c_prime"] >= 0.25 and c["c_theta_min"] >= math.sqrt(2 * math.pi)
    json.dumps(res.to_json(), allow_nan=False)


def test_an_aggregator_that_knows_mu_is_flagged():
    def make(name, m, f, mu):
        return lambda X: np.array(mu, dtype=float)

    res = suite.statistical_check(n=N, names=["oracle"], make_aggregator=make)
    assert res.status == "violated" and res.details["rejected"] == ["oracle"]
    r = res.adversaries["oracle"].extra
    assert r["failures_A"] == r["failures_B"] == r["failures_C"] == 0


def test_an_aggregator_outside_its_hypotheses_is_counted_apart():
    def make(name, m, f, mu):
        if m < 40:
            raise ValueError("needs m >= 40")
        return lambda X: np.median(X, axis=0)

    res = suite.statistical_check(n=N, names=["picky"], make_aggregator=make)
    row = res.adversaries["picky"]
    assert row.extra["skipped"] == res.outside_hypotheses > 0
    assert row.instances + row.extra["skipped"] == N


def test_a_new_aggregator_is_picked_up(monkeypatch):
    monkeypatch.setitem(AGGREGATORS, "first_row", lambda m, f: (lambda X: np.asarray(X)[0].copy()))
    res = suite.statistical_check(n=N, names=None)
    assert "first_row" in res.adversaries and res.status == "holds"
