"""Aggregator rates of docs/paper.md §6 and the statistical lower bound as SymPy expressions:
symbolic exponents, numeric values, and the able-to-fail variants of parameters.aggregator_rates."""

import math

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from byzpgd.properties.suites import parameters as suite
from byzpgd.theory import bound_comparisons as bc
from byzpgd.theory import rates

TESTED_CLAIMS = ("parameters.aggregator_rates",)   # this file holds these claims' own tests (claims --where)


@pytest.mark.parametrize("name", ["median", "trimmed_mean", "iterative_filtering", "lower_bound"])
def test_term_exponents_match_the_table(name):
    got = rates.term_exponents(name)
    want = sorted(rates.EXPECTED_EXPONENTS[name], key=rates._key)
    assert got == want


def test_dominant_exponents_are_the_sweep_slopes():
    assert rates.dominant_exponents("iterative_filtering", "alpha") == {"n": -sp.S.Half, "m": 0,
                                                                         "alpha": sp.S.Half, "d": 0}
    assert rates.dominant_exponents("trimmed_mean", "d")["d"] == 1
    assert rates.dominant_exponents("median", "m")["m"] == 0     # the α and skewness terms do not decay in m
    with pytest.raises(ValueError, match="vary"):
        rates.dominant_exponents("median", "x")


def test_unknown_rate_and_non_monomial_are_errors():
    with pytest.raises(KeyError, match="unknown rate"):
        rates.rate("krum")
    with pytest.raises(ValueError, match="not a monomial"):
        rates.monomial_exponents(rates.n + 1)


@given(st.integers(1, 10**6), st.integers(1, 1000), st.floats(1e-4, 0.49), st.integers(1, 10**4))
def test_every_rate_is_at_least_the_lower_bound_numerically(n, m, alpha, d):
    """Sanity cross-check of the symbolic proof (parameters.upper_vs_lower), c = 1."""
    lower = rates.rate_value("lower_bound", n=n, m=m, alpha=alpha, d=d)
    for name in rates.RATES:
        assert rates.rate_value(name, n=n, m=m, alpha=alpha, d=d) >= lower * (1 - 1e-12)


def test_rate_value_scales_with_sigma():
    v = rates.rate_value("iterative_filtering", n=100, m=10, alpha=0.04, d=10, sigma=2.0)
    assert math.isclose(v, 2 * (0.2 / 10 + math.sqrt(10 / 1000)))


def test_the_claim_is_checked_by_the_derivation_this_file_breaks():
    """The able-to-fail variants below call bc.check_aggregator_rates: the claim's own derivation."""
    assert suite.DERIVATIONS["parameters.aggregator_rates"] is bc.check_aggregator_rates


def test_aggregator_rates_claim_holds():
    res = bc.check_aggregator_rates()
    assert res.proved, [(s.name, s.evidence) for s in res.failed()]


def test_wrong_exponent_is_reported():
    n, m, a, d = rates.VARS
    wrong = dict(rates.RATES, median=a * d / sp.sqrt(n) + d / sp.sqrt(n * m) + sp.sqrt(d) / n)
    res = bc.check_aggregator_rates(rates=wrong)
    assert res.disproved
    assert {s.name for s in res.failed()} >= {"exponents_median", "s5_inversion_median"}


def test_wrong_s5_count_is_reported():
    s5 = dict(rates.S5_SAMPLE_COMPLEXITY, iterative_filtering=rates.alpha / rates.S5_DELTA**4
              + rates.d**2 / (rates.S5_DELTA**4 * rates.m))
    res = bc.check_aggregator_rates(s5=s5)
    assert [s.name for s in res.failed()] == ["s5_inversion_iterative_filtering"]


def test_rate_below_the_lower_bound_is_reported():
    """An iterative-filtering rate with d/(nm) instead of sqrt(d/(nm)) is not >= the lower bound
    order-wise: a ray along which the ratio vanishes is found."""
    wrong = {"iterative_filtering": sp.sqrt(rates.alpha) / sp.sqrt(rates.n) + rates.d / (rates.n * rates.m)}
    res = bc.check_upper_vs_lower(rates=wrong)
    bad = res.failed()
    assert res.disproved and [s.name for s in bad] == ["rate_iterative_filtering"]
    assert bad[0].method == "ray limit"
