"""Relative power (issue 22 item 1, :mod:`byzpgd.properties.power`): the count laws are exact,
the decision uses its pooled test, a group without power is the weakest, and the reported
detectable excess is the smallest factor whose excess the decision rejects with probability 0.8
(checked against the exact rejection probability and against seeded simulations of the decision).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from byzpgd.properties import power as pw
from byzpgd.properties.checks import Observation, group_tests, per_adversary
from byzpgd.properties.result import ALPHA_BINOMIAL, ClaimResult, detectable_failure_rate


def _brute_law(bounds, rounds):
    """P(S = s) by enumerating every outcome of every run (small cases only)."""
    out = np.zeros(sum(rounds) + 1)
    per_run = [[(k, p**k * (1 - p) if k < q else p**q) for k in range(q + 1)]
               for p, q in zip(bounds, rounds, strict=True)]
    for combo in itertools.product(*per_run):
        out[sum(k for k, _ in combo)] += math.prod(w for _, w in combo)
    return out


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.integers(1, 4)), min_size=1, max_size=5))
def test_count_law_is_the_exact_law_of_the_summed_failed_rounds(runs):
    bounds, rounds = zip(*runs, strict=True)
    np.testing.assert_allclose(pw.count_law(bounds, rounds), _brute_law(bounds, rounds), atol=1e-12)


def test_truncated_geometric_tail_is_p_to_the_k():
    pmf = pw.round_count_pmf(0.7, 6)
    tails = [pw.tail(k, pmf) for k in range(8)]
    np.testing.assert_allclose(tails, [0.7**k for k in range(7)] + [0.0], atol=1e-15)
    np.testing.assert_allclose(pw.round_count_pmf(0.3, 1), [0.7, 0.3])     # Q = 1: Bernoulli


def test_reject_at_is_the_first_count_below_alpha():
    dist = pw.count_law([0.4, 0.6, 0.5] * 4, [5] * 12)
    for alpha in (0.3, 1e-2, 1e-5):
        k = pw.reject_at(dist, alpha)
        assert pw.tail(k, dist) < alpha <= pw.tail(k - 1, dist)


def _groups(rng, n_groups=4, runs=12, q=(15, 30)):
    return [pw.CountGroup.of(f"g{j}", rng.uniform(0.3, 0.9, runs), rng.integers(*q, runs), 0)
            for j in range(n_groups)]


def test_detectable_excess_is_the_smallest_factor_with_power_0_8():
    groups = _groups(np.random.default_rng(1))
    d = pw.decide(groups, ALPHA_BINOMIAL)
    for j, g in enumerate(groups):
        c = d.groups[g.name].decision
        at = [c if i == j else 1.0 for i in range(len(groups))]
        below = [0.99 * c if i == j else 1.0 for i in range(len(groups))]
        assert pw.rejection_probability(groups, ALPHA_BINOMIAL, at) >= 0.8
        assert pw.rejection_probability(groups, ALPHA_BINOMIAL, below) < 0.8
        assert c <= d.groups[g.name].alone * (1 + 1e-3)        # the pooled test can only help
    assert d.detectable_excess == max(gp.decision for gp in d.groups.values())


def _simulate_decision(groups, scales, alpha_total, reps, rng):
    """Seeded simulation of the G + 1 tests (the count of each run drawn from the truncated
    geometric law at scale × its bound); returns the fraction of replications rejected."""
    d = pw.decide(groups, alpha_total)
    ks = [d.groups[g.name].reject_at for g in groups]
    hits = 0
    for _ in range(reps):
        counts = []
        for g, c in zip(groups, scales, strict=True):
            p = np.minimum(1.0, c * np.asarray(g.bounds))
            q = np.asarray(g.rounds)
            first_escape = rng.geometric(np.clip(1.0 - p, 1e-12, 1.0))      # rounds up to an escape
            counts.append(int(np.where(p >= 1, q, np.minimum(first_escape - 1, q)).sum()))
        hits += any(s >= k for s, k in zip(counts, ks, strict=True)) or sum(counts) >= d.pooled_reject_at
    return hits / reps


def test_a_round_failure_rate_1_5_times_the_bound_is_rejected_with_the_stated_power():
    """The subtle wrong variant: one group's rounds fail with probability 1.5 × p_round. The
    decision's exact rejection probability at 1.5 is matched by a seeded simulation, and it is
    >= 0.8 because the reported detectable excess is <= 1.5."""
    groups = _groups(np.random.default_rng(2), n_groups=8, runs=20, q=(20, 38))
    d = pw.decide(groups, ALPHA_BINOMIAL)
    c = d.groups["g0"].decision
    assert c <= 1.5
    assert pw.rejection_probability(groups, ALPHA_BINOMIAL, [1.5] + [1.0] * 7) >= 0.8
    # at the reported excess the exact rejection probability is 0.8, and so is the simulated one
    scales = [c] + [1.0] * 7
    exact = pw.rejection_probability(groups, ALPHA_BINOMIAL, scales)
    sim = _simulate_decision(groups, scales, ALPHA_BINOMIAL, 1500, np.random.default_rng(3))
    assert 0.8 <= exact < 0.85
    assert abs(sim - exact) < 4 * math.sqrt(exact * (1 - exact) / 1500)
    # and at the bound itself the decision (nearly) never rejects: its false-alarm rate
    assert pw.rejection_probability(groups, ALPHA_BINOMIAL, [1.0] * 8) <= ALPHA_BINOMIAL


def test_the_decision_uses_its_pooled_test():
    # every group just below its own threshold, together above the pooled one
    groups = [pw.CountGroup.of(f"g{j}", [0.5] * 10, [1] * 10, 0) for j in range(6)]
    d0 = pw.decide(groups, ALPHA_BINOMIAL)
    k = d0.groups["g0"].reject_at
    loaded = [pw.CountGroup.of(g.name, g.bounds, g.rounds, k - 1) for g in groups]
    d = pw.decide(loaded, ALPHA_BINOMIAL)
    assert not any(gp.rejects for gp in d.groups.values())
    assert d.pooled_rejects and d.violated


def test_a_group_without_power_is_the_weakest_not_dropped():
    rng = np.random.default_rng(4)
    groups = _groups(rng, n_groups=3) + [pw.CountGroup.of("tiny", [0.9], [1], 0)]
    d = pw.decide(groups, ALPHA_BINOMIAL)
    assert d.groups["tiny"].decision == math.inf and d.groups["tiny"].alone == math.inf
    assert d.detectable_excess == math.inf
    assert math.isfinite(max(d.groups[g].decision for g in ("g0", "g1", "g2")))


def _obs(group, fails, n):
    return [Observation(float(i < fails), 1.0, 0.0, i >= fails, False, True, 0.0, {"g": group})
            for i in range(n)]


def test_rows_of_group_tests_carry_the_excess_of_the_binomial_decision():
    """The theorems' path (properties.checks.group_tests): per group, the excess of its own test
    times δ is the detectable failure rate computed independently by binomial bisection."""
    obs = _obs("a", 3, 95) + _obs("b", 1, 40) + _obs("c", 0, 120)
    rows = per_adversary(obs, lambda s: s["g"])
    rows, pooled, weakest_rate = group_tests(obs, rows, 0.1, lambda s: s["g"])
    for row in rows.values():
        e = row.extra
        assert math.isclose(e["detectable_excess_alone"] * 0.1,
                            detectable_failure_rate(e["trials"], e["reject_at"]), rel_tol=2e-3)
        assert e["detectable_excess"] <= e["detectable_excess_alone"] * (1 + 1e-3)
    assert max(r.extra["detectable_excess"] for r in rows.values()) == rows["b"].extra["detectable_excess"]


def test_detectable_excess_survives_report_json():
    from byzpgd.theory.claims import get

    res = ClaimResult.build(get("mechanism.escape"), violated=False, detectable_excess=math.inf)
    back = ClaimResult.from_json(res.to_json())
    assert back.detectable_excess == math.inf and res.to_json()["detectable_excess"] == "inf"
    assert "detectable_excess" not in ClaimResult.build(get("mechanism.descent"), violated=False).to_json()


@pytest.mark.parametrize("delta,n", [(0.1, 95), (0.01, 300)])
def test_binomial_excess_matches_the_binomial_power(delta, n):
    from scipy.stats import binom

    d = pw.decide([pw.CountGroup.of("g", [delta] * n, [1] * n, 0)], ALPHA_BINOMIAL, n_tests=1)
    c, k = d.groups["g"].alone, d.groups["g"].reject_at
    assert binom.sf(k - 1, n, min(1.0, c * delta)) >= 0.8 > binom.sf(k - 1, n, c * delta * 0.995)


@pytest.mark.parametrize("bounds,rounds,observed,match", [
    ([0.2, math.nan], [1, 1], 0, "probability"), ([0.2, math.inf], [1, 1], 0, "probability"),
    ([1.5], [1], 0, "probability"), ([0.2], [1, 2], 0, "same length"), ([0.2], [-1], 0, "rounds"),
    ([0.2, 0.3], [2, 2], 5, "outside")])
def test_untrusted_group_inputs_are_refused_by_name(bounds, rounds, observed, match):
    with pytest.raises(ValueError, match=match):
        pw.CountGroup.of("g", bounds, rounds, observed)


def test_report_md_shows_the_detectable_excess_and_the_weakest_group():
    from byzpgd.properties.result import GroupRow
    from byzpgd.reports.markdown import render_markdown
    from byzpgd.reports.model import Report
    from byzpgd.theory.claims import get

    rows = {"trap": GroupRow(20, 20, 0, 0.5, {"detectable_excess": 1.29}),
            "shrink": GroupRow(20, 20, 0, 0.5, {"detectable_excess": 1.17})}
    ok = ClaimResult.build(get("mechanism.escape"), violated=False, detectable_excess=1.29, adversaries=rows)
    weak = ClaimResult.build(get("mechanism.exact_escape"), violated=False, detectable_excess=math.inf)
    text = render_markdown(Report(profile="ci", seed=0, command="x", claims=[ok, weak]))
    section = text[text.index("## Power against the bound"):]
    line = next(ln for ln in section.splitlines() if "`mechanism.escape`" in ln)
    assert "1.29" in line and "`trap`" in line and "shrink" not in line
    weak_line = next(ln for ln in section.splitlines() if "`mechanism.exact_escape`" in ln)
    assert "inf" in weak_line or "∞" in weak_line
