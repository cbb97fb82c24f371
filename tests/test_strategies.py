"""byzpgd.strategies: each piece draws what it says, and the strategies break a non-robust rule
(the mean) while a robust one (the project's median) survives them."""

import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from byzpgd import strategies as S
from byzpgd.algorithms.aggregators import coordinate_median

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(S.worker_gradients())
def test_worker_gradients_layout(case):
    assert case.X.shape == (case.m, case.d) and case.X.dtype == np.float64
    assert 1 <= case.f < case.m / 2 and len(case.byzantine) == case.f
    honest_idx = [i for i in range(case.m) if i not in case.byzantine]
    assert np.array_equal(case.X[honest_idx], case.honest)
    assert np.allclose(case.mean, case.honest.mean(axis=0))
    assert case.kind in S.ROW_KINDS


@pytest.mark.parametrize("kind, check", [
    ("nan", lambda B, c: np.isnan(B).all()),
    ("inf", lambda B, c: np.isposinf(B).all()),
    ("neg_inf", lambda B, c: np.isneginf(B).all()),
    ("huge", lambda B, c: (B == 1e308).all()),
    ("neg_huge", lambda B, c: (B == -1e308).all()),
    ("duplicate", lambda B, c: any((c.honest == B[0]).all(axis=1)) and (B == B[0]).all()),
    ("colluding_shift", lambda B, c: (B == B[0]).all() and np.isfinite(B).all()),
    ("sign_flip", lambda B, c: np.allclose(B, -c.mean)),
    ("mimic", lambda B, c: (B == c.honest[0]).all()),
])
def test_each_kind_draws_what_it_says(kind, check):
    @FAST
    @given(S.worker_gradients(m=st.integers(5, 12), d=3, kinds=(kind,)))
    def run(case):
        assert case.kind == kind
        assert check(case.X[list(case.byzantine)], case)
    run()


def test_line_search_attacks_need_the_aggregator():
    with pytest.raises(ValueError, match="aggregate="):
        find(S.worker_gradients(m=7, d=2, kinds=("alie_ls",)), lambda c: True)
    case = find(S.worker_gradients(m=7, d=2, kinds=("alie_ls",), aggregate=coordinate_median),
                lambda c: True)
    assert case.kind == "alie_ls" and np.isfinite(case.X).all()


def test_the_strategies_break_the_mean_but_not_the_median():
    """Able to fail: the mean leaves the honest gradients' hull under some drawn input (found by
    Hypothesis), the coordinate median never does (f < m/2)."""
    def far(rule):
        def bad(case):
            out = rule(case.X)
            return not np.all(np.isfinite(out)) or np.any(out > case.honest.max(axis=0) + 1e-9) \
                or np.any(out < case.honest.min(axis=0) - 1e-9)
        return bad

    found = find(S.worker_gradients(), far(lambda X: X.mean(axis=0)),
                 settings=settings(max_examples=200, deadline=None, database=None))
    assert found.f >= 1

    @settings(max_examples=100, deadline=None, database=None)
    @given(S.worker_gradients())
    def median_stays_inside(case):
        assert not far(coordinate_median)(case)
    median_stays_inside()


@settings(max_examples=8, deadline=None)
@given(S.inexact_oracles(deltas=(1e-3, 1e-1)), st.integers(0, 2**32 - 1))
def test_inexact_oracles_are_delta_inexact(oracle, seed):
    land = oracle.landscape
    w = land.sample_start(np.random.default_rng(seed), "ball", 0.5)
    g = oracle(w)
    assert np.linalg.norm(g - land.grad(w)) <= oracle.delta * (1 + 1e-9) + 1e-12
    assert oracle.oracle.name in S.ADVERSARY_NAMES


@settings(max_examples=10, deadline=None)
@given(S.landscapes())
def test_landscapes_have_certified_constants(land):
    assert land.L > 0 and land.rho > 0 and np.isfinite(land.f_star)
    saddle = land.saddle()
    assert np.linalg.norm(land.grad(saddle.point)) < 1e-8 and saddle.lambda_min < 0


def test_claim_instances_is_the_checks_sampler():
    spec = find(S.claim_instances("byzantine_pgd.grad_norm"), lambda s: True)
    assert spec["family"] == "byzantine_pgd" and spec["Delta"] > 0


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="m/2"):
        S.byzantine_counts(2)
    with pytest.raises(ValueError, match="unknown kind"):
        find(S.worker_gradients(m=5, d=2, kinds=("nope",)), lambda c: True)
