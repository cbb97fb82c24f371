"""The certified L-smooth interpolant (oracles/landscapes/smooth_interpolant.py), the rotating chains
(oracles/landscapes/rotating_chain.py) and the step-count search on real runs
(experiments/pep_search.search_steps): O/W >= 0.95 at the hierarchy's points, and broken runs
(an oracle overspending Δ, data that is not L-smooth) are caught."""

from __future__ import annotations

import math

import numpy as np
import pytest

from byzpgd.algorithms import robust_gd
from byzpgd.experiments import pep_search
from byzpgd.oracles.adversaries import make_adversary
from byzpgd.oracles.inexact import CertifiedOracle, OracleBudgetExceeded
from byzpgd.oracles.landscapes import rotating_chain as rc
from byzpgd.oracles.landscapes.smooth_interpolant import NotInterpolable, SmoothInterpolant, ic_slack
from byzpgd.properties import hierarchy as hier
from byzpgd.properties.result import HierarchyItem
from byzpgd.theory import pep_cache

CACHE = pep_cache.load_cache()


def _random_data(rng, m=6, d=4, L=1.5):
    """Interpolable data: samples of the L-smooth quadratic f(x) = ½ xᵀHx + c·x, H = diag(L, −L,
    L/2, ...) (a saddle: nonconvex)."""
    X = rng.normal(size=(m, d))
    c = rng.normal(size=d)
    H = np.diag([L, -L] + [0.5 * L] * (d - 2))
    G = X @ H + c
    F = 0.5 * np.einsum("ij,jk,ik->i", X, H, X) + X @ c
    return X, G, F, L, H, c


# --- the interpolant --------------------------------------------------------------------------
def test_interpolant_passes_through_the_data_and_is_l_smooth():
    rng = np.random.default_rng(0)
    X, G, F, L, _, _ = _random_data(rng)
    land = SmoothInterpolant(X, G, F, L)
    for i in range(len(X)):
        assert land.value(X[i]) == pytest.approx(F[i], abs=1e-10)
        assert np.allclose(land.grad(X[i]), G[i], atol=1e-10)
    # L-smoothness on random pairs, near the data (vertex regions) and far (the QP)
    for _ in range(40):
        x, y = rng.normal(size=4) * 2, rng.normal(size=4) * 2
        gx, gy = land.grad(x), land.grad(y)
        assert np.linalg.norm(gx - gy) <= L * np.linalg.norm(x - y) * (1 + 1e-6) + 1e-7
        assert land.value(x) >= land.f_star - 1e-9
    assert land.qp_solves > 0 and land.vertex_hits > 0


def test_interpolant_infimum_is_exact():
    rng = np.random.default_rng(1)
    X, G, F, L, _, _ = _random_data(rng)
    land = SmoothInterpolant(X, G, F, L)
    assert land.f_star == pytest.approx(float(np.min(F - np.sum(G * G, 1) / (2 * L))))
    cp = land.critical_points()[0]
    assert land.value(cp.point) == pytest.approx(land.f_star, abs=1e-10)
    assert np.linalg.norm(land.grad(cp.point)) <= 1e-8


def test_certification_refuses_data_that_is_not_l_smooth():
    rng = np.random.default_rng(2)
    X, G, F, L, _, _ = _random_data(rng)
    with pytest.raises(NotInterpolable, match="interpolation condition"):
        SmoothInterpolant(X, G, F, 0.9 * L)           # the data needs L; 0.9 L is refused
    F2 = F.copy()
    F2[3] += 0.5 * abs(ic_slack(X, G, F, L)[0].min()) + 1e-3 + np.max(np.abs(F))   # a value moved far up
    with pytest.raises(NotInterpolable):
        SmoothInterpolant(X, G, F2, L)
    land = SmoothInterpolant(X, G, F2, L, check=False)          # bypassed: marked uncertified
    assert not land.certified
    with pytest.raises(ValueError):
        SmoothInterpolant(X[:, :2], G, F, L)
    with pytest.raises(ValueError):
        SmoothInterpolant(X, G, F, -1.0)


# --- the rotating chain -------------------------------------------------------------------------
def _params(Delta, L, D):
    return pep_search.search_steps(Delta, L, D, restarts=1, seed=0).params


@pytest.mark.parametrize("Delta,L,D", [(0.2, 1.0, 1.0), (0.3, 0.5, 2.0)])
def test_design_is_certified_within_budget_and_the_real_run_takes_its_steps(Delta, L, D):
    p = _params(Delta, L, D)
    cap = math.ceil(2 * L * D / (3 * Delta**2)) + 2
    des, _ = rc.longest_design(p, Delta, L, D, cap)
    land = des.landscape()
    assert land.certified and land.L == L
    assert des.budget <= D
    assert land.value(des.X[0]) - land.f_star == pytest.approx(des.budget, rel=1e-9)   # exact infimum
    oracle = CertifiedOracle(make_adversary({"name": "pep_scripted_vectors", "errors": des.E}, land, Delta))
    res = robust_gd(oracle, des.X[0], eta=1.0 / L, epsilon=3 * Delta, max_oracle_calls=cap + 2, trace=True)
    assert res.gd_steps == des.steps and res.status == "converged"
    assert np.allclose(res.trace["points"][: des.steps + 1], des.X, atol=1e-9)
    assert oracle.max_error <= Delta
    steps = np.linalg.norm(des.G[:-1] + des.E, axis=1)
    assert np.all(steps > 3 * Delta)                                  # every designed step passes the test


def test_the_rotating_chain_beats_every_1d_chain():
    """In 1-D a step costs >= 15 Delta^2/(4L); the steady rotating geometry costs about 9.8."""
    val, slack = rc.local_decrease(*pep_search.steady_geometry(0.2, 1.0, [0.3, 1.5, 3.0]), 0.2, 1.0)
    assert slack >= -1e-12
    assert 9.5 * 0.04 / 4 < val < 10.0 * 0.04 / 4 < 15 * 0.04 / 4


# --- the search: O/W ---------------------------------------------------------------------------
@pytest.mark.parametrize("Delta,L,D", [(0.3, 1.0, 1.0), (0.2, 1.0, 1.0)])
def test_step_search_reaches_095_of_w(Delta, L, D):
    W = CACHE.steps_point(Delta, L, D).steps
    res = pep_search.search_steps(Delta, L, D, restarts=2, seed=0)
    assert 0.95 * W <= res.observed <= W
    assert "rotating chains" in res.description


def test_hierarchy_steps_items_reach_095_without_findings():
    items = hier.items("steps", "quick", 0)
    assert len(items) >= 3
    assert all(h.finding is None for h in items)
    assert min(h.o_over_w for h in items) >= 0.95, [(h.point, h.o_over_w) for h in items]


def test_search_is_deterministic_in_its_seed():
    a = pep_search.search_steps(0.3, 1.0, 1.0, restarts=1, seed=5)
    b = pep_search.search_steps(0.3, 1.0, 1.0, restarts=1, seed=5)
    assert a == b


# --- broken runs are caught ---------------------------------------------------------------------
def test_an_oracle_overspending_delta_is_caught():
    """Errors of 1.1 Delta: CertifiedOracle raises; without it the run takes more steps than the
    certified W, which the hierarchy reports as a finding (O > W)."""
    Delta, L, D = 0.2, 1.0, 1.0
    p = _params(Delta, L, D)
    with pytest.raises(OracleBudgetExceeded):
        pep_search.run_steps(p, Delta, L, D, 19, error_factor=1.1)
    broken = pep_search.run_steps(p, Delta, L, D, 19, error_factor=1.1, certify=False)
    W = CACHE.steps_point(Delta, L, D).steps
    assert broken.steps > W
    item = HierarchyItem({"Delta": Delta}, 2 * L * D / (3 * Delta**2), float(W), float(broken.steps))
    assert item.finding is not None and item.finding.startswith("O > W")


def test_a_function_that_is_not_l_smooth_is_refused():
    """f values assigned for 1.2 L: the design claims more steps than W, and the certification of
    the interpolant refuses it."""
    Delta, L, D = 0.2, 1.0, 1.0
    p = _params(Delta, L, D)
    des, _ = rc.longest_design(p, Delta, L, D, 19, smoothness_factor=1.2)
    assert des.steps > CACHE.steps_point(Delta, L, D).steps
    with pytest.raises(NotInterpolable):
        pep_search.run_steps(p, Delta, L, D, 19, smoothness_factor=1.2)


def test_chain_rejects_bad_input():
    with pytest.raises(ValueError):
        rc.chain_vectors([0.3, 1.6, 3.1, 3.1, -1.0, 0.0], 0, 0.2, 1.0)
    # bend = lift = pi/2 and fold = 0: the next frame vector vanishes
    assert rc.chain_vectors([0.3, math.pi / 2, math.pi / 2, 0.0, -1.0, 0.0], 3, 0.2, 1.0) is None
