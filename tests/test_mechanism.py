"""The mechanism claims (docs/paper.md §8): their bounds from the theory, and each shown to catch
subtle faults of ByzantinePGD and exact PGD (a factor 1.5–3 or an off-by-one), injected by the
fault catalogue's wrappers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from byzpgd.experiments import faults as F
from byzpgd.geometry import uniform_ball
from byzpgd.properties.result import poisson_binomial_sf, rejection_count
from byzpgd.properties.suites import mechanism as m
from byzpgd.theory import mechanism as mech

# this file holds these claims' own tests (byzpgd claims --where)
TESTED_CLAIMS = (
    "mechanism.descent",
    "mechanism.escape",
    "mechanism.exact_escape",
    "mechanism.candidate_cost",
    "mechanism.perturbation_radius",
)


@pytest.mark.parametrize("dim", [2, 3, 6])
def test_ball_coordinate_law_matches_uniform_draws(dim):
    rng = np.random.default_rng(dim)
    xi = uniform_ball(rng, dim, 1.0, size=200_000)
    for t in (0.05, 0.2, 0.5, 0.9):
        emp = np.mean(np.abs(xi[:, 0]) < t)
        assert abs(emp - mech.ball_coordinate_cdf(t, dim)) < 5 * math.sqrt(0.25 / 200_000)


def test_escape_threshold_is_the_worst_case_of_the_pushed_back_recursion():
    Delta, g, eta, T, R = 1e-3, 0.05, 1.0, 40, 0.5
    thr = mech.escape_threshold(Delta, g, eta, T, R)
    y = thr
    for _ in range(T):            # the adversary pushes back with its whole budget each step
        y = (1 + eta * g) * y - eta * Delta
    assert math.isclose(y, R, rel_tol=1e-9)


def test_one_round_failure_never_exceeds_its_bound_under_the_trap():
    # single rounds at the saddle, counted: the failure fraction stays below the bound
    from byzpgd.algorithms import PGDParams, perturbed_gd
    from byzpgd.experiments.mechanism import escape_landscape
    from byzpgd.oracles.adversaries import make_adversary
    from byzpgd.oracles.inexact import CertifiedOracle

    src = m.NumpySource(np.random.default_rng(5))
    spec = m.escape_spec(src, "byzantine_pgd", "trap")
    v = m.escape_values(spec)
    land = escape_landscape(spec)
    oracle = CertifiedOracle(make_adversary(spec["adversary"], land, spec["Delta"]))
    p = PGDParams(eta=v["eta"], epsilon=v["epsilon"], r=v["r"], Q=1, R=v["R"], T_th=v["T_th"])
    rng = np.random.default_rng(0)
    fails = sum(perturbed_gd(oracle, np.zeros(land.dim), p, rng, max_oracle_calls=1 + v["T_th"]
                             ).escapes == 0 for _ in range(400))
    assert fails / 400 <= v["p_round"] + 3 * math.sqrt(v["p_round"] / 400)
    assert fails > 0.3 * 400 * v["p_round"]        # and the bound is not loose on this instance


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=7), st.integers(0, 8))
def test_poisson_binomial_tail_is_exact(probs, k):
    brute = sum(math.prod(p if b else 1 - p for p, b in zip(probs, bits, strict=True))
                for bits in itertools.product([0, 1], repeat=len(probs)) if sum(bits) >= k)
    assert math.isclose(poisson_binomial_sf(k, probs), min(1.0, brute), abs_tol=1e-12)


def test_rejection_count_is_the_first_count_below_alpha():
    probs = [0.01] * 50
    k = rejection_count(probs, 1e-6)
    assert poisson_binomial_sf(k, probs) < 1e-6 <= poisson_binomial_sf(k - 1, probs)
    # uneven bounds, several levels: the first k of the scan of poisson_binomial_sf itself
    probs = np.random.default_rng(4).uniform(0, 0.05, size=300)
    for alpha in (0.3, 1e-3, 1e-6, 1e-12):
        first = next(k for k in range(len(probs) + 2) if poisson_binomial_sf(k, probs) < alpha)
        assert rejection_count(probs, alpha) == first
    assert rejection_count([0.0, 0.0], 1e-3) == 1 and rejection_count([1.0, 1.0], 1e-3) == 3


def _with(fault_id, fn):
    with F.inject(F.get_fault(fault_id)):
        return fn()


def test_sampled_instances_hit_their_target_round_failure():
    for s in m.specs(m.ESCAPE, 8, 0):
        assert math.isclose(m.escape_values(s)["p_round"], s["target_p_round"], rel_tol=1e-6)


# --- able to fail, with subtle faults ----------------------------------------------------------
@pytest.fixture(scope="module")
def escape_correct():
    return m.check_escape(m.ESCAPE, "quick", 0, n=24)


def test_escape_holds_for_the_algorithm(escape_correct):
    assert escape_correct.status == "holds", escape_correct.details


@pytest.mark.parametrize("fault", ["byzantine_pgd.Q_1", "byzantine_pgd.T_th_div2",
                                   "byzantine_pgd.r_div3", "byzantine_pgd.R_x2"])
def test_escape_catches_a_subtle_parameter_fault(fault):
    res = _with(fault, lambda: m.check_escape(m.ESCAPE, "quick", 0, n=24))
    assert res.status == "violated", (fault, res.binomial)


def test_descent_holds_and_catches_a_step_off_by_1_5():
    assert m.check_descent("quick", 0, n=21).status == "holds"
    res = _with("byzantine_pgd.eta_x1.5", lambda: m.check_descent("quick", 0, n=21))
    assert res.status == "violated" and res.worst_violation is not None


def test_descent_runs_are_the_same_alone_and_in_a_batch():
    """The descent runs are batched trials: each spec's steps (F before and after, ‖ĝ‖, status)
    are bit-for-bit those of its run as a batch of one, for every adversary and exact PGD."""
    from byzpgd.experiments import mechanism as exp

    specs = m.specs(m.DESCENT, 16, 4)
    assert len({m.adversary_of(s) for s in specs}) >= 5
    batch = exp.run_descent_batch(specs)
    for spec, b in zip(specs, batch, strict=True):
        a = exp.run_descent(spec)
        assert a.status == b.status and a.f_before.size > 0
        for x, y in ((a.f_before, b.f_before), (a.f_after, b.f_after), (a.g_norm, b.g_norm)):
            np.testing.assert_array_equal(x, y)


def test_descent_batch_records_an_unbuildable_spec_and_runs_the_others():
    from byzpgd.experiments import mechanism as exp
    from byzpgd.experiments.loop import InstanceError

    specs = m.specs(m.DESCENT, 3, 1)
    broken = {**specs[1], "rho": -1.0}
    out = exp.run_descent_batch([specs[0], broken, specs[2]])
    assert isinstance(out[1], InstanceError) and out[1].error.startswith("ValueError: s must be finite")
    assert not isinstance(out[0], InstanceError) and not isinstance(out[2], InstanceError)
    with pytest.raises(exp.DescentRunError):
        exp.run_descent(broken)


def test_the_step_recorder_leaves_out_perturbation_jumps():
    """Query t → t + 1 is a step unless a perturbation came between them (its jump may raise F
    by any amount): the recorder keeps each trial's queries in order and the query numbers
    reached by a perturbation; a recorder deaf to 'perturbation' is told apart."""
    from byzpgd.experiments.mechanism import StepRecorder

    class Inner:
        landscape = None

        def query(self, W, idx, single):
            return 2 * W, {}

    rec = StepRecorder(Inner(), 2)
    rows = np.arange(8.0).reshape(4, 2)
    rec.query(rows[:2], np.array([0, 1]), np.ones(2, dtype=bool))
    rec.notify(1, "perturbation", candidate=rows[1], xi=rows[0])
    rec.query(rows[2:], np.array([0, 1]), np.ones(2, dtype=bool))
    (P0, G0), (P1, G1) = rec.trials()
    np.testing.assert_array_equal(P0, rows[[0, 2]])
    np.testing.assert_array_equal(G1, 2 * rows[[1, 3]])
    assert rec.jumps == [set(), {1}]


def test_candidate_cost_holds_and_catches_q_halved_and_an_off_by_one():
    assert m.check_candidate("quick", 0, n=12).status == "inconclusive"   # < 20 instances
    assert m.check_candidate("quick", 0, n=12).violations == 0
    for fault in ("byzantine_pgd.Q_half", "loop.round_off_by_one"):
        res = _with(fault, lambda: m.check_candidate("quick", 0, n=12))
        assert res.status == "violated", fault


def test_exact_escape_holds_and_catches_t_halved():
    assert m.check_escape(m.EXACT_ESCAPE, "quick", 0, n=24).status == "holds"
    res = _with("exact_pgd.T_th_div2", lambda: m.check_escape(m.EXACT_ESCAPE, "quick", 0, n=24))
    assert res.status == "violated"


def test_escape_bounds_come_from_the_theory_not_the_run():
    # a run with a wrong T_th is judged against the theory's bound for the instance
    s = m.specs(m.ESCAPE, 1, 3)[0]
    before = m.escape_values(s)
    after = _with("byzantine_pgd.T_th_div2", lambda: m.escape_values(s))
    assert before == after


def _radius_scaled(factor):
    """uniform_ball in the loop with its radius scaled: the subtle variant of the perturbation."""
    def patch(original):
        def scaled(rng, dim, radius, size=None):
            return original(rng, dim, factor * radius, size)
        return scaled
    return F.Fault(f"loop.radius_x{factor}", "logic", "", (F.Patch(f"{F.LOOP}:uniform_ball", patch),), ())


def test_perturbation_radius_holds_and_catches_a_radius_off_by_1_25_and_the_cube():
    res = m.check_radius("quick", 0, n=24)
    assert res.status == "holds" and res.nonvacuous_instances == 24
    assert 0.5 < res.worst_ratio <= 1.0      # the draws reach near the ball's boundary, never beyond
    with F.inject(_radius_scaled(1.25)):
        res = m.check_radius("quick", 0, n=24)
    assert res.status == "violated" and "beyond r" in res.worst_violation.note
    res = _with("loop.perturbation_in_cube", lambda: m.check_radius("quick", 0, n=24))
    assert res.status == "violated"


def test_perturbation_radius_is_measured_from_the_queries_not_from_the_reported_xi(monkeypatch):
    """A loop that reports the ball's ξ in its event but starts the round elsewhere is caught."""
    from byzpgd.algorithms import engine

    original = engine._Engine.open_window

    def shifted(self, b):    # the window's rows start 1.5 r from where its event says
        notify = self.notify
        self.notify = lambda b_, event, **data: (notify(b_, event, **data) if event != "perturbation"
                                                 else True)
        try:
            original(self, b)
        finally:
            self.notify = notify
        s, n, dim = self.s, int(self.s.size[b]), int(self.s.dims[b])
        xi = s.U[b, :n] - s.w[b]
        s.U[b, :n, :dim] += 1.5 * s.r[b] / math.sqrt(dim)
        notify(b, "perturbation", candidate=s.w[b].copy(), xi=xi[0] if n == 1 else xi)

    monkeypatch.setattr(engine._Engine, "open_window", shifted)
    res = m.check_radius("quick", 0, n=6)
    assert res.violations > 0


def test_the_first_escape_observers_measure_the_loop_s_next_query_not_the_reported_point():
    """After an 'escape' event the observers take the escaped point's distance from the loop's
    next query (its escaped iterate) and end the run before the oracle answers; a point the event
    reports is never trusted: an event claiming a far point while the loop moves to a near one
    records the near distance (an observer reading the event would record the far one)."""
    from byzpgd.algorithms import StopRun
    from byzpgd.experiments.batched import BatchedFirstEscapeObserver
    from byzpgd.experiments.mechanism import FirstEscapeObserver

    class Inner:
        landscape, delta = None, 0.0

        def __call__(self, w):
            return np.zeros_like(w)

        def notify(self, *event, **data):       # (event) for one run, (b, event) for a batch
            return None

        def query(self, W, idx, single):
            return np.zeros_like(W), {}

    far, near = np.array([30.0, 40.0]), np.array([0.3, 0.4])
    one = FirstEscapeObserver(Inner(), np.zeros(2))
    one.notify("escape", w=far)
    with pytest.raises(StopRun, match="escaped"):
        one(near)
    assert one.escape_distance == pytest.approx(0.5)

    batch = BatchedFirstEscapeObserver(Inner(), np.zeros((2, 2)))
    assert batch.notify(1, "escape", w=far) is None
    _, ended = batch.query(np.vstack([near, near]), np.array([0, 1]), np.ones(2, dtype=bool))
    assert ended == {1: "escaped"}
    assert np.isnan(batch.escape_distance[0]) and batch.escape_distance[1] == pytest.approx(0.5)
