"""The aggregator.*.rate claims: they hold for the paper's aggregators and are violated by the
mean posing as the median and by a wrong exponent."""

import pytest

from byzpgd.algorithms.aggregators import mean
from byzpgd.properties.suites.aggregation import rate_check
from byzpgd.theory import aggregator_rates as ar


def test_exponents_from_the_sympy_rates():
    assert ar.exponent(ar.RATES["iterative_filtering"], "alpha") == ar.sp.Rational(1, 2)
    assert ar.exponent(ar.RATES["trimmed_mean"], "d") == 1
    assert ar.exponent(ar.RATES["median"], "n", {"S": 0}) == ar.sp.Rational(-1, 2)


@pytest.mark.parametrize("agg", ["median", "trimmed_mean"])
def test_rate_claim_holds(agg):
    e = rate_check(agg, "quick", 0)
    assert e["status"] == "holds", e
    assert e["slopes"]["n"]["matches"] and e["slopes"]["m"]["matches"]


def test_the_mean_posing_as_the_median_is_caught():
    e = rate_check("median", "quick", 0, factory=lambda m, f: mean)
    assert e["status"] == "violated" and e["worst_ratio"] > 1


def test_a_wrong_exponent_is_caught():
    e = rate_check("median", "quick", 0, exponents={"n": -1.0})
    assert e["status"] == "violated" and "n" in e["violated_sweeps"]
