"""(f, κ)-robustness by adversarial search (audit/kappa.py): κ̂ of the project's rules against the
bounds, and subtly wrong rules (one value too few trimmed, a spread-dependent shift, a rule that
trusts row positions, failing rules) caught. Small n, d and budgets; every search is seeded."""

import json
import math

import numpy as np
import pytest

from byzpgd.algorithms.aggregators import coordinate_median, make, trimmed_mean
from byzpgd.audit.kappa import (
    KNOWN_UPPER_BOUNDS,
    KappaResult,
    kappa_hat,
    kappa_summary,
    lower_bound,
    verdict,
)
from byzpgd.jsonsafe import dumps

N, F, D = 10, 2, 2
FAST = {"restarts": 6, "maxiter": 200}


def _search(rule, name=None, **kw):
    return kappa_hat(rule, N, F, D, 0, name=name, **{**FAST, **kw})


def test_mean_is_unbounded():
    r = _search(make("mean", N, F))
    assert r.kappa_hat == math.inf and r.status == "unbounded"
    assert "grows without bound" in r.reason


@pytest.mark.parametrize("name", ["median", "trimmed_mean", "geometric_median", "krum", "multi_krum",
                                  "nnm_trimmed_mean", "centered_clipping"])
def test_standard_rules_reach_the_lower_bound_and_stay_below_their_proven_bound(name):
    budget = {"restarts": 6, "maxiter": 120} if name == "geometric_median" else {}
    r = _search(make(name, N, F), name=name, **budget)
    assert r.status == "ok" and math.isfinite(r.kappa_hat)
    # the lower-bound construction is rule-independent: the search must find it on every rule
    assert r.kappa_hat >= 0.9 * lower_bound(N, F)
    v = verdict(r)
    if name in KNOWN_UPPER_BOUNDS:
        assert r.upper_bound == KNOWN_UPPER_BOUNDS[name](N, F)
        assert r.kappa_hat <= r.upper_bound and v.kind == "within_proven_bound" and not v.finding
    else:
        assert r.upper_bound is None and v.kind == "no_known_bound" and not v.finding


def test_trimmed_mean_bound_is_reached_on_its_lower_bound_configuration():
    """For the trimmed mean the proven bound max_a a(n−f−a)/(n−2f)² is within a factor 4/3 of
    f/(n − 2f) at (10, 2): κ̂ must sit in that window."""
    r = _search(make("trimmed_mean", N, F), name="trimmed_mean")
    assert lower_bound(N, F) * (1 - 1e-9) <= r.kappa_hat <= KNOWN_UPPER_BOUNDS["trimmed_mean"](N, F)


def test_trimming_one_value_too_few_is_flagged():
    def trim_f_minus_1(X):
        return trimmed_mean(X, F - 1)
    r = _search(trim_f_minus_1, name="trimmed_mean")
    v = verdict(r)
    assert r.kappa_hat > KNOWN_UPPER_BOUNDS["trimmed_mean"](N, F)
    assert v.finding and v.kind == "above_proven_bound" and "implementation is wrong" in v.message


def test_median_shifted_by_the_spread_is_flagged():
    """Median + 0.1 × the rows' coordinate standard deviation: Byzantine rows far away inflate the
    spread, so the shift is unbounded."""
    def shifted_median(X):
        return coordinate_median(X) + 0.1 * X.std(axis=0)
    r = _search(shifted_median, name="median")
    assert r.kappa_hat > KNOWN_UPPER_BOUNDS["median"](N, F)
    assert verdict(r).finding


def test_a_rule_trusting_positions_gets_no_benefit():
    """The mean of the first n − f rows is exact if the Byzantine rows are always last; their
    positions are drawn at random, so its κ̂ is unbounded."""
    def mean_of_first_rows(X):
        return X[:N - F].mean(axis=0)
    r = _search(mean_of_first_rows)
    assert r.kappa_hat == math.inf and r.status == "unbounded"


@pytest.mark.parametrize(("rule", "status"), [
    (lambda X: (_ for _ in ()).throw(RuntimeError("boom")), "exception"),
    (lambda X: np.full(X.shape[1], np.nan), "nonfinite_output"),
    (lambda X: X.mean(axis=0)[:1], "bad_output"),
    (lambda X: "not a vector", "bad_output"),
])
def test_failing_rules_get_infinite_kappa_with_the_reason(rule, status):
    r = _search(rule)
    assert r.kappa_hat == math.inf and r.status == status
    v = verdict(r)
    assert v.finding and v.kind == "rule_failed" and v.message == r.reason


def test_a_rule_mutating_its_input_is_noted_and_does_not_corrupt_the_search():
    def mutating_median(X):
        out = coordinate_median(X)
        X[:] = 0.0
        return out
    r = _search(mutating_median, name="median")
    assert any("modified its input" in s for s in r.notes)
    assert lower_bound(N, F) * 0.9 <= r.kappa_hat <= KNOWN_UPPER_BOUNDS["median"](N, F)


def test_reproducible_and_round_trips():
    a = _search(make("krum", N, F), name="krum")
    b = _search(make("krum", N, F), name="krum")
    assert a == b
    assert KappaResult.from_dict(json.loads(dumps(a.to_dict()))) == a
    inf = _search(make("mean", N, F))
    assert KappaResult.from_dict(json.loads(dumps(inf.to_dict()))) == inf
    g = kappa_hat(make("median", N, F), N, F, D, np.random.default_rng(5), **FAST)
    assert g.seed == kappa_hat(make("median", N, F), N, F, D, np.random.default_rng(5), **FAST).seed


def test_configuration_reproduces_kappa_hat():
    rule = make("median", N, F)
    r = _search(rule, name="median")
    X = np.array(r.rows)
    S = np.array(r.honest)
    mu = X[S].mean(axis=0)
    ratio = ((rule(X) - mu) ** 2).sum() / ((X[S] - mu) ** 2).sum(axis=1).mean()
    assert ratio == pytest.approx(r.kappa_hat, rel=1e-9)
    assert len(S) == N - F


@pytest.mark.parametrize(("n", "f"), [(3, 1), (5, 2), (10, 2), (11, 3), (20, 4), (30, 3), (101, 50)])
def test_bounds_are_ordered(n, f):
    lb = lower_bound(n, f)
    for b in KNOWN_UPPER_BOUNDS.values():
        assert b(n, f) >= lb * (1 - 1e-12), b.name
        assert b.source


def test_rejects_bad_settings():
    with pytest.raises(ValueError):
        kappa_hat(make("median", 4, 1), 4, 2, 2, 0)
    with pytest.raises(ValueError):
        kappa_hat(make("median", 4, 1), 4, 1, 2, 0, method="BFGS")


def test_kappa_summary_for_the_audit():
    good = kappa_summary(lambda m, f: make("median", m, f), N, F, 5, 0, "quick", name="median")
    assert not good.exceeds_upper and good.kappa_hat >= 0.9 * good.lower_bound and good.error is None
    assert good.d == 2 and good.details["verdict"] == "within_proven_bound"
    bad = kappa_summary(lambda m, f: (lambda X: trimmed_mean(X, f - 1)), N, F, 5, 0, "quick",
                        name="trimmed_mean")
    assert bad.exceeds_upper
    failing = kappa_summary(lambda m, f: (lambda X: np.full(X.shape[1], np.inf)), N, F, 5, 0, "quick")
    assert failing.kappa_hat == math.inf and failing.error and not failing.exceeds_upper
    with pytest.raises(ValueError):
        kappa_summary(lambda m, f: make("median", m, f), N, F, 2, 0, "slow")


def test_coinciding_honest_rows_are_not_scored_by_rounding_noise():
    """n − f rows equal up to rounding: their 'variance' is rounding noise, and so is the error of
    an exact rule; the subset scoring must not score the ratio of two rounding errors (this made
    κ̂ of the trimmed mean 1.0, or inf, > its proven bound 0.444 at (20, 4) before the guard)."""
    from byzpgd.audit.kappa import _subset_scores
    n, f = 20, 4
    X = np.full((n, 1), -0.32743212)     # 16 equal rows: their mean and the trimmed mean differ by
    X[:f, 0] = 1.9825                    # rounding (0/0 gave inf before the guard)
    score, S = _subset_scores(X, trimmed_mean(X, f), n, f)
    assert score <= lower_bound(n, f) * (1 + 1e-12)
    off = _subset_scores(X, trimmed_mean(X, f) + 1e-3, n, f)
    assert off[0] == math.inf                               # an output off the coinciding rows: κ = ∞


def test_time_cap_ends_the_search_with_a_note():
    r = _search(make("median", N, F), name="median", seconds=0.0)
    assert any("time cap" in s for s in r.notes) and r.status == "ok"
    assert len(r.per_start) == 1 and r.evaluations < FAST["maxiter"]
    full = _search(make("median", N, F), name="median")
    assert not any("time cap" in s for s in full.notes) and len(full.per_start) == FAST["restarts"]


def test_a_biased_rule_on_coinciding_honest_rows_is_unbounded_not_a_crash():
    """A rule with a fixed bias: the search reaches honest rows that coincide (spread 0), where the
    biased output makes κ infinite; the unboundedness probe must not divide by that spread."""
    import numpy as np

    from byzpgd.audit.kappa import kappa_hat, verdict

    res = kappa_hat(lambda X: np.median(X, axis=0) + 0.05, 10, 4, 2, 0, restarts=4, maxiter=200,
                    name="median")
    assert res.kappa_hat > 1e3 and verdict(res).kind == "above_proven_bound"
