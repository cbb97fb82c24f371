"""Per-round escape tests (issue 22 item 2): the mechanism escape claims test the failed rounds
before the first escape against the per-round bound of §8.3, one bound per reading of
Algorithm 1's escape test; the check catches a per-round failure rate 1.5 × the bound and
parameter faults by a factor 1.5, and holds for the algorithm and its two open readings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from byzpgd.experiments import faults as F
from byzpgd.experiments import mechanism as exp
from byzpgd.experiments.loop import InstanceError
from byzpgd.properties.suites import mechanism as m
from byzpgd.theory import mechanism as mech


def _bound(spec, v, **kw):
    return mech.round_failure_bound(Delta=spec["Delta"], gamma=spec["gamma"], s=spec["s"], eta=v["eta"],
                                    T_th=kw.pop("T_th", v["T_th"]), r=v["r"], R=v["R"], dim=spec["dim"], **kw)


def _exact_arrays(specs):
    vs = [m.escape_values(s) for s in specs]
    cols = ([s["gamma"] for s in specs], [s["s"] for s in specs], [v["eta"] for v in vs],
            [v["T_th"] for v in vs], [v["r"] for v in vs], [v["R"] for v in vs], [s["dim"] for s in specs])
    return vs, [np.asarray(c) for c in cols]


# --- the bounds, per reading ---------------------------------------------------------------------
def test_the_perturbed_reading_has_a_larger_bound_and_the_final_test_the_same():
    for spec in m.specs(m.ESCAPE, 16, 1):
        v = m.escape_values(spec)
        cand, pert = _bound(spec, v), _bound(spec, v, reference="perturbed")
        assert cand == v["p_round_candidate"] and pert > cand
        assert v["p_round"] == pert                     # the claims' bound covers every reading
        assert spec["gamma"] * spec["s"] * math.sin(v["R"] / spec["s"]) >= spec["Delta"]
        assert _bound(spec, v, test="final") == cand
    # without the condition gamma s sin(R/s) >= Delta no bound is claimed for the final-step test
    assert mech.round_failure_bound(Delta=1.0, gamma=0.1, s=1.0, eta=1.0, T_th=50, r=0.05, R=0.5, dim=3,
                                    test="final") == 1.0
    with pytest.raises(ValueError, match="reference"):
        mech.round_failure_bound(Delta=0.0, gamma=0.1, s=1.0, eta=1.0, T_th=5, r=0.1, R=0.5, dim=2,
                                 reference="w")


def test_exact_oracle_failure_is_below_the_bound_and_within_a_fraction_of_a_percent():
    specs = [s for s in m.specs(m.EXACT_ESCAPE, 60, 0)]
    vs, args = _exact_arrays(specs)
    bound = np.array([v["p_round_candidate"] for v in vs])
    exact = mech.exact_round_failure(*args)
    assert np.all(exact <= bound + 1e-12)
    assert 0 < 1 - exact.sum() / bound.sum() < 5e-3              # the bound is nearly exact
    exact_w_xi = mech.exact_round_failure(*args, reference="perturbed")
    assert np.all(exact_w_xi >= exact - 1e-12)
    assert np.all(exact_w_xi <= np.array([v["p_round"] for v in vs]) + 1e-12)   # the claims' bound
    # the comparison can fail: a bound one step too generous (T_th + 1) falls below the truth
    off_by_one = np.array([_bound(s, v, T_th=v["T_th"] + 1) for s, v in zip(specs, vs, strict=True)])
    assert np.any(off_by_one < exact)


def test_exact_round_failure_matches_single_rounds_of_the_algorithm():
    """Seeded single rounds of exact PGD at the saddle: the failure fraction agrees with the
    exact probability along the escape coordinate (an upper bound, nearly exact)."""
    from byzpgd.algorithms import PGDParams, perturbed_gd
    from byzpgd.oracles.inexact import ExactOracle

    spec = m.specs(m.EXACT_ESCAPE, 3, 5)[0]
    v, args = _exact_arrays([spec])
    p = float(mech.exact_round_failure(*args)[0])
    land = exp.escape_landscape(spec)
    params = PGDParams(eta=v[0]["eta"], epsilon=v[0]["epsilon"], r=v[0]["r"], Q=1, R=v[0]["R"],
                       T_th=v[0]["T_th"])
    rng = np.random.default_rng(11)
    n = 1500
    fails = sum(perturbed_gd(ExactOracle(land), np.zeros(land.dim), params, rng,
                             max_oracle_calls=1 + params.T_th).escapes == 0 for _ in range(n))
    assert abs(fails / n - p) < 4 * math.sqrt(p * (1 - p) / n)


# --- the observation ---------------------------------------------------------------------------
def test_failed_rounds_counts_as_the_theorys_algorithm_would():
    spec = m.specs(m.ESCAPE, 1, 0)[0]
    v = m.escape_values(spec)
    Q, R, r = int(v["Q"]), v["R"], v["r"]
    run = exp.EscapeRounds
    assert m.failed_rounds(spec, run(3, True, R, "escaped", 0))[0] == 2
    assert m.failed_rounds(spec, run(1, True, R - 0.999 * r, "escaped", 0))[0] == 0
    assert m.failed_rounds(spec, run(1, True, 0.99 * (R - r), "escaped", 0))[0] == Q      # not R - r away
    assert m.failed_rounds(spec, run(1, True, math.nan, "escaped", 0))[0] == Q
    assert m.failed_rounds(spec, run(Q + 1, True, R, "escaped", 0))[0] == Q               # after Q rounds
    assert m.failed_rounds(spec, run(Q, True, R, "escaped", 0))[0] == Q - 1
    assert m.failed_rounds(spec, run(Q // 2, False, math.nan, "converged", 0))[0] == Q    # gave up early
    for status in ("nonfinite", "max_seconds", "max_oracle_calls"):
        F_, note = m.failed_rounds(spec, run(2, False, math.nan, status, 0))
        assert F_ == Q and status in note


def test_batched_trials_see_the_same_rounds_as_one_at_a_time():
    specs = [s for s in m.specs(m.ESCAPE, 12, 3) if s["adversary"]["name"] != "adaptive"][:8]
    specs += m.specs(m.EXACT_ESCAPE, 6, 3)
    seq = [m.run_escape_rounds_capped(s) for s in specs]
    bat = m.escape_rounds_batch(specs)
    for s, b in zip(seq, bat, strict=True):
        assert not isinstance(b, InstanceError), b
        assert (b.rounds, b.escaped) == (s.rounds, s.escaped)
        if s.escaped:
            assert math.isclose(b.escape_distance, s.escape_distance, rel_tol=1e-7)


# --- able to fail --------------------------------------------------------------------------------
def _synthetic_runs(monkeypatch, scale_of, seed):
    """Replace the runs by draws from the per-round law: each round of a run fails with
    probability min(1, scale_of(adversary) · p_round) (theory's Q rounds), seeded per run."""
    def fake(spec):
        v = m.escape_values(spec)
        Q = int(v["Q"])
        p = min(1.0, scale_of(m.adversary_of(spec)) * v["p_round"])
        fail = np.random.default_rng([seed, spec["run_seed"]]).random(Q) < p
        fails = Q if fail.all() else int(np.argmin(fail))
        if fails == Q:
            return exp.EscapeRounds(Q, False, math.nan, "converged", 0)
        return exp.EscapeRounds(fails + 1, True, v["R"], "escaped", 0)
    monkeypatch.setattr(m, "run_escape_rounds_capped", fake)


def test_a_round_failure_rate_1_5_times_the_bound_in_one_adversary_is_caught(monkeypatch):
    """The check's whole path (failed_rounds, groups, the G + 1 tests) on ci's escape instances
    (seed 0): rounds of one adversary failing with probability 1.5 × p_round are rejected in at
    least 14 of 20 seeded replications (the reported detectable excess is <= 1.5: power >= 0.8,
    16 on average); at the bound, none of the 20 is."""
    fixed = m.specs(m.ESCAPE, m.examples("ci", m.ESCAPE), 0)       # the same instances each time
    monkeypatch.setattr(m, "specs", lambda claim_id, n, seed: fixed)
    values = {s["run_seed"]: m.escape_values(s) for s in fixed}          # computed once
    monkeypatch.setattr(m, "escape_values", lambda spec: values[spec["run_seed"]])
    caught, alarms, excess = 0, 0, None
    for rep in range(20):
        _synthetic_runs(monkeypatch, lambda a: 1.5 if a == "trap" else 1.0, rep)
        res = m.check_escape(m.ESCAPE, "ci", 0, batched=False)
        caught += res.status == "violated"
        excess = res.detectable_excess
        _synthetic_runs(monkeypatch, lambda a: 1.0, 100 + rep)
        alarms += m.check_escape(m.ESCAPE, "ci", 0, batched=False).status == "violated"
    assert excess <= 1.5
    assert caught >= 14 and alarms == 0


def _with(fault_id, fn):
    with F.inject(F.get_fault(fault_id)):
        return fn()


@pytest.mark.parametrize("fault", ["byzantine_pgd.T_th_div1.5", "byzantine_pgd.r_div1.5",
                                   "byzantine_pgd.R_x1.5"])
def test_escape_catches_parameters_off_by_1_5(fault):
    assert m.check_escape(m.ESCAPE, "quick", 0, n=40).status == "holds"
    res = _with(fault, lambda: m.check_escape(m.ESCAPE, "quick", 0, n=40))
    assert res.status == "violated", (fault, res.details["pooled"])


def test_exact_escape_catches_t_th_over_1_5_and_both_readings_survive():
    assert m.check_escape(m.EXACT_ESCAPE, "quick", 0, n=60).status == "holds"
    res = _with("exact_pgd.T_th_div1.5", lambda: m.check_escape(m.EXACT_ESCAPE, "quick", 0, n=60))
    assert res.status == "violated"
    for reading in ("loop.escape_from_perturbed_point", "loop.escape_test_final_step_only"):
        assert F.get_fault(reading).is_reading
        assert _with(reading, lambda: m.check_escape(m.EXACT_ESCAPE, "quick", 0, n=60)).status == "holds"
