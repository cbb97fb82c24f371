"""The aggregator.*.rate claims: they hold for the paper's aggregators and are violated by the
mean posing as the median and by a wrong exponent."""

import pytest
import sympy as sp

from byzpgd.algorithms.aggregators import mean
from byzpgd.properties.registry import run_check
from byzpgd.properties.suites.aggregation import SWEEPS, rate_check
from byzpgd.theory import rates
from byzpgd.theory.claims.aggregation import RATE_CLAIMS

# this file holds these claims' own tests (byzpgd claims --where)
TESTED_CLAIMS = (
    "aggregator.median.rate",
    "aggregator.trimmed_mean.rate",
    "aggregator.iterative_filtering.rate",
)


def test_exponents_from_the_sympy_rates():
    assert rates.exponent(rates.skewed_rate("iterative_filtering"), "alpha") == sp.Rational(1, 2)
    assert rates.exponent(rates.skewed_rate("trimmed_mean"), "d") == 1
    assert rates.exponent(rates.skewed_rate("median"), "alpha", {"alpha": 0}) == 0
    assert rates.exponent(rates.skewed_rate("median"), "n", {"S": 0}) == sp.Rational(-1, 2)
    assert rates.exponent(rates.symmetric_rate("median"), "m", {"alpha": 0}) == sp.Rational(-1, 2)


@pytest.mark.parametrize("claim_id", list(RATE_CLAIMS.values()))
def test_rate_claim_holds(claim_id):
    res = run_check(claim_id, "quick", 0)
    assert res.id == claim_id and res.status == "holds", res
    assert set(res.fits) == set(SWEEPS)
    for var in ("n", "m"):
        fit = res.fits[var]
        assert abs(fit.slope - fit.expected) <= fit.tolerance
        assert fit.points["x"] == [float(v) for v in SWEEPS[var][1]]
        assert len(fit.points["y"]) == len(fit.points["x"])


def test_the_mean_posing_as_the_median_is_caught():
    res = rate_check("median", "quick", 0, factory=lambda m, f: mean)
    assert res.status == "violated" and res.worst_ratio > 1


def test_a_wrong_exponent_is_caught():
    res = rate_check("median", "quick", 0, exponents={"n": -1.0})
    assert res.status == "violated" and "n" in res.details["violated_sweeps"]
    assert res.replay is not None
