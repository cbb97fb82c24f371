"""The claim registry: the six Theorem 1/2 claims as SymPy objects with numeric evaluators,
provenance and kind; the verdict logic (binomial test, vacuity, empirical constants)."""

import math

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binom

from byzpgd.properties.result import ALPHA_BINOMIAL, binomial_p_value
from byzpgd.theory import claims
from byzpgd.theory.parameters import BYZANTINE_PGD
from byzpgd.theory.symbols import L_F, Delta, Q, d, delta, gap, rho_F

IDS = ["byzantine_pgd.grad_norm", "byzantine_pgd.lambda_min", "byzantine_pgd.iterations",
       "exact_pgd.grad_norm", "exact_pgd.lambda_min", "exact_pgd.iterations"]


def test_the_six_claims_are_registered_with_metadata():
    assert set(IDS) <= set(claims.REGISTRY)
    for cid in IDS:
        c = claims.get(cid)
        assert c.provenance in claims.PROVENANCES and c.kind in claims.KINDS
        assert c.statement and c.source and c.hypotheses
        assert isinstance(c.bound_expr, sp.Expr)
    assert claims.get("byzantine_pgd.lambda_min").kind == "probabilistic"
    assert claims.get("byzantine_pgd.grad_norm").kind == "deterministic"


def test_unknown_claim_and_duplicate_registration_are_errors():
    with pytest.raises(KeyError, match="unknown claim"):
        claims.get("nope")
    with pytest.raises(ValueError, match="already registered"):
        claims.register(claims.get(IDS[0]))


@given(st.floats(1e-15, 1e-2), st.floats(0.1, 10), st.floats(0.1, 10), st.integers(1, 10**6),
       st.floats(1e-3, 0.5), st.floats(1e-3, 1e3), st.integers(1, 100))
def test_numeric_evaluators_agree_with_sympy(D, L, rho, dim, dlt, g, q):
    subs = {Delta: D, L_F: L, rho_F: rho, d: dim, delta: dlt, gap: g, Q: q}
    values = {s.name: v for s, v in subs.items()}
    for cid in ("byzantine_pgd.grad_norm", "byzantine_pgd.lambda_min", "byzantine_pgd.iterations"):
        c = claims.get(cid)
        exact = float(c.bound_expr.evalf(30, subs=subs))
        assert math.isclose(c.bound(values), exact, rel_tol=1e-12)


def test_iteration_bound_is_Q_times_the_inexact_descent_count():
    """2(F0−F*)L Q/(3Δ²) = Q · (F0−F*)/(3Δ²/(2L)): one robust GD step with ‖ĝ‖ > 3Δ decreases F
    by at least (‖ĝ‖/L)(‖ĝ‖/2 − Δ) >= 3Δ²/(2L) (docs/paper.md §8.1)."""
    c = claims.get("byzantine_pgd.iterations")
    g = sp.Symbol("g", positive=True)
    decrease = (g / L_F) * (g / 2 - Delta)
    assert sp.simplify(decrease.subs(g, 3 * Delta) - 3 * Delta**2 / (2 * L_F)) == 0
    assert sp.simplify(sp.diff(decrease, g).subs(g, 3 * Delta)) > 0  # increasing beyond 3Δ
    assert sp.simplify(c.bound_expr - Q * gap / (3 * Delta**2 / (2 * L_F))) == 0


def test_grad_norm_bound_is_epsilon_plus_delta():
    assert sp.simplify(claims.get("byzantine_pgd.grad_norm").bound_expr
                       - (BYZANTINE_PGD["epsilon"] + Delta)) == 0


def test_lambda_min_bound_has_the_confirmed_exponents():
    """Δ^{2/5} d^{1/5} (CONFIRMED-INDIRECT, docs/paper.md §4) up to the log factor."""
    shape = claims.get("byzantine_pgd.lambda_min").shape / sp.log(10 / Delta)
    assert sp.simplify(Delta * sp.diff(sp.log(shape), Delta)) == sp.Rational(2, 5)
    assert sp.simplify(d * sp.diff(sp.log(shape), d)) == sp.Rational(1, 5)


def test_empirical_constant_inverts_the_bound():
    c = claims.get("exact_pgd.iterations")
    values = {"L_F": 2.0, "F_gap": 0.5, "epsilon": 0.1, "T_th": 10}
    bound = c.bound(values)
    assert c.empirical_constant(bound, values) == pytest.approx(c.constant)
    assert c.empirical_constant(5.0, values) == 0.0  # the offset T+1 alone suffices


@given(st.integers(1, 200), st.floats(0.01, 0.5))
def test_binomial_p_value_is_the_exact_upper_tail(n, p):
    k = n // 3
    direct = sum(binom.pmf(j, n, p) for j in range(k, n + 1)) if k > 0 else 1.0
    assert math.isclose(binomial_p_value(k, n, p), direct, rel_tol=1e-9, abs_tol=1e-300)


def test_binomial_false_alarm_rate_is_at_most_alpha():
    """Under the null (failure probability exactly δ) the rejection region {p < ALPHA_BINOMIAL}
    has probability <= ALPHA_BINOMIAL: the stated per-claim false-alarm rate."""
    for n, dlt in ((40, 0.1), (120, 0.1), (500, 0.05)):
        reject_k = next(k for k in range(n + 1) if binomial_p_value(k, n, dlt) < ALPHA_BINOMIAL)
        assert binom.sf(reject_k - 1, n, dlt) < ALPHA_BINOMIAL
