"""The descent monitor (experiments/monitor.py): the theorems' algorithms pass it; a step size off
by a factor, either way, is stopped at once as 'descent_violated', in the gradient phase or in the
perturbation rounds, whether the rounds run one by one or as one (Q, d) batch; perturbation jumps
are never judged."""

import importlib
from dataclasses import replace

import numpy as np
import pytest

from byzpgd.algorithms import byzantine_pgd, exact_pgd, perturbed_gd
from byzpgd.algorithms.byzantine_pgd import theorem_params
from byzpgd.experiments.monitor import STATUS, DescentMonitor
from byzpgd.oracles.adversaries import make_adversary
from byzpgd.oracles.inexact import CertifiedOracle, ExactOracle
from byzpgd.oracles.landscapes import CosineSaddle

pgd_module = importlib.import_module("byzpgd.algorithms.perturbed_gd")
engine = importlib.import_module("byzpgd.algorithms.engine")


def _setup(seed, adversary="random_direction", Delta=1e-3):
    land = CosineSaddle.random(4, np.random.default_rng(seed))
    oracle = CertifiedOracle(make_adversary({"name": adversary, "seed": seed}, land, Delta))
    w0 = np.random.default_rng(seed + 1).normal(size=4)
    return land, oracle, w0


@pytest.mark.parametrize("adversary", ["random_direction", "trap", "shrink", "adaptive"])
def test_byzantine_pgd_passes_the_monitor(adversary):
    land, oracle, w0 = _setup(3, adversary)
    mon = DescentMonitor(oracle, land.L, oracle.delta)
    res = byzantine_pgd(mon, w0, np.random.default_rng(0), delta=0.1,
                        factors={"c_r": 1, "c_R": 1, "c_T": 8, "c_Q": 8})
    assert res.status == "converged" and mon.violation is None


def test_exact_pgd_passes_the_monitor():
    land = CosineSaddle.random(3, np.random.default_rng(5))
    mon = DescentMonitor(CertifiedOracle(ExactOracle(land)), land.L, 0.0)
    res = exact_pgd(mon, np.full(3, 0.7), np.random.default_rng(0), epsilon=1e-4, delta=0.1)
    assert res.status == "converged" and mon.violation is None


@pytest.mark.parametrize("factor", [1.5, 1 / 1.5, 2.5])
def test_a_step_size_off_by_a_factor_is_stopped(factor):
    # curvature a_1 = L_F = 1 along the first positive direction, where a wrong step shows at once
    land = CosineSaddle([1.0, 0.5, 0.4], [0.8], [0.8])
    oracle = CertifiedOracle(make_adversary({"name": "random_direction", "seed": 1}, land, 1e-3))
    w0 = land.rotation.apply(np.array([0.0, 0.8, 0.01, 0.01]))
    p = theorem_params(oracle.delta, land.L, land.rho, land.dim, 0.1, land.value(w0) - land.f_star)
    mon = DescentMonitor(oracle, land.L, oracle.delta)
    res = perturbed_gd(mon, w0, replace(p, eta=factor * p.eta), np.random.default_rng(0))
    assert res.status == STATUS and "Lemma" in mon.violation
    assert res.grad_oracle_calls <= 3                  # stopped at the first judged step


def test_perturbation_jumps_are_not_judged():
    # a perturbation that raises F (a jump up the saddle) is not a step
    land, oracle, w0 = _setup(11)
    mon = DescentMonitor(oracle, land.L, oracle.delta)
    mon(np.zeros(land.dim))
    mon.notify("perturbation", candidate=np.zeros(land.dim), xi=np.ones(land.dim))
    mon(np.full(land.dim, 0.3))          # F changed arbitrarily: no violation
    assert mon.violation is None


def _rounds_setup():
    # every positive curvature equals L_F = 1, so a round step off by 1.5 breaks Lemma §8.1; the
    # start has no component along the negative direction, so the candidate is the saddle (F = 0)
    # and the rounds' changes of F (about r² = 1e-8) stand far above the monitor's 1e-12 floor;
    # at Δ = 1e-8 Theorem 1 gives T_th = 2: one judged step per round
    land = CosineSaddle([1.0, 1.0, 1.0], [0.8], [0.8])
    oracle = CertifiedOracle(make_adversary({"name": "trap", "seed": 2}, land, 1e-8))
    w0 = land.rotation.apply(np.array([0.0, 1e-3, 1e-3, 0.0]))
    p = theorem_params(oracle.delta, land.L, land.rho, land.dim, 0.1, land.value(w0) - land.f_star)
    return land, oracle, w0, p


@pytest.mark.parametrize("batch", [True, False], ids=["batched_rounds", "sequential_rounds"])
@pytest.mark.parametrize("factor", [1.5, 1.0])
def test_a_round_step_off_by_a_factor_is_stopped_in_either_engine(monkeypatch, batch, factor):
    """η × 1.5 inside the perturbation rounds only (the gradient phase is correct): the monitor
    stops the run in the first round, whether the rounds run as a batch or one by one; the correct
    rounds (factor 1) converge without a violation, their steps judged."""
    land, oracle, w0, p = _rounds_setup()
    assert oracle.batchable
    original = engine.round_step
    monkeypatch.setattr(engine, "round_step", lambda G, eta, *a: factor * original(G, eta, *a))
    mon = DescentMonitor(oracle, land.L, oracle.delta)
    res = perturbed_gd(mon, w0, p, np.random.default_rng(0), batch_rounds=batch)
    if factor == 1.0:
        assert res.status == "converged" and mon.violation is None and mon.steps > p.Q
    else:
        assert res.status == STATUS and "Lemma" in mon.violation
        assert res.grad_oracle_calls <= 3 + p.T_th * (p.Q if batch else 1)   # within the first round(s)


def test_batched_rounds_are_judged_row_by_row():
    land, oracle, _, _ = _rounds_setup()
    eta = 1 / land.L
    W0 = np.random.default_rng(4).normal(scale=0.05, size=(3, land.dim))
    mon = DescentMonitor(oracle, land.L, oracle.delta)
    mon.notify("perturbation", candidate=np.zeros(land.dim), xi=W0)
    G0 = mon(W0)
    W1 = W0 - eta * G0
    G1 = mon(W1)                             # three correct steps
    mon(W1[:2] - eta * G1[:2])               # a shrinking batch is judged on its prefix ...
    assert mon.violation is None and mon.steps == 5
    mon.notify("perturbation", candidate=np.zeros(land.dim), xi=W0)
    G0 = mon(W0)
    with pytest.raises(pgd_module.StopRun):   # ... and a climbing row is caught
        mon(np.vstack([W0[0] - eta * G0[0], W0[1] + eta * G0[1]]))
    assert "round 1" in mon.violation
    mon2 = DescentMonitor(oracle, land.L, oracle.delta)
    mon2(W0[:1])
    mon2(W0 + 1.0)                           # a batch larger than the last is not a step: unjudged
    assert mon2.violation is None and mon2.steps == 0


@pytest.mark.parametrize("batch", [True, False], ids=["batched_rounds", "sequential_rounds"])
def test_the_step_that_leaves_a_round_is_judged_even_with_one_step_per_round(monkeypatch, batch):
    """With T_th = 1 (Theorem 1 at Δ = 1e-3 here) a round makes one query; its step is seen only at
    the escaped point, the next (single) query. Rounds that step uphill (u + ηĝ) escape at once;
    the monitor judges that step from the escaping row ('escape_round' names it) and stops the run,
    batched or not; the correct rounds pass."""
    land = CosineSaddle([1.0, 1.0, 1.0], [0.8], [0.8])
    oracle = CertifiedOracle(make_adversary({"name": "trap", "seed": 2}, land, 1e-3))
    w0 = land.rotation.apply(np.array([0.0, 1e-2, 1e-2, 0.0]))
    p = theorem_params(oracle.delta, land.L, land.rho, land.dim, 0.1, land.value(w0) - land.f_star)
    assert p.T_th == 1
    mon = DescentMonitor(oracle, land.L, oracle.delta)
    assert perturbed_gd(mon, w0, p, np.random.default_rng(0), batch_rounds=batch).status == "converged"

    original = engine.round_step       # every round steps uphill: u + ηĝ(u)
    monkeypatch.setattr(engine, "round_step", lambda G, eta, *a: -original(G, eta, *a))
    mon = DescentMonitor(oracle, land.L, oracle.delta)
    res = perturbed_gd(mon, w0, p, np.random.default_rng(0), batch_rounds=batch, max_oracle_calls=10_000)
    assert res.status == STATUS and "Lemma" in mon.violation
    assert mon.steps <= 50          # stopped at the first escape, not after thousands of climbs


# --- the rule exists once: one run is a batch of one ---------------------------------------------
def _refuse_one_at_a_time(monkeypatch):
    from byzpgd.experiments import batched as eb

    def refuse(*a, **k):
        raise AssertionError("a batchable spec ran one at a time")
    monkeypatch.setattr(eb, "run_monitored_single", refuse)


@pytest.mark.parametrize("claim_id,n,seed", [("byzantine_pgd.grad_norm", 10, 2),
                                             ("exact_pgd.grad_norm", 8, 0)])
def test_batched_monitor_records_are_those_of_one_run(claim_id, n, seed, monkeypatch):
    """``run_monitored_batch`` (the theorem runs as batched trials) reports, per spec, the status
    and the number of judged steps the one-run monitor (``run_monitored_single``, DescentMonitor
    around the one-run oracles) reports, and a worst excess within the rule's tolerance the same
    way (both far below 1 on correct runs); ``run_monitored`` (a batch of one) reports exactly
    what the batch does."""
    from byzpgd.experiments.batched import run_monitored_batch
    from byzpgd.experiments.monitor import run_monitored, run_monitored_single
    from byzpgd.properties.strategies import sample_specs

    specs = sample_specs(claim_id, n, seed)
    one = [run_monitored_single(s) for s in specs]
    _refuse_one_at_a_time(monkeypatch)
    batch = run_monitored_batch(specs)
    for a, b, c in zip(one, batch, [run_monitored(s) for s in specs], strict=True):
        assert (a.status, a.steps, a.violation) == (b.status, b.steps, b.violation)
        assert a.steps > 0 and a.excess <= 1 and b.excess <= 1
        assert c == b


@pytest.mark.parametrize("batched", [True, False], ids=["batched_trials", "batch_of_one"])
def test_a_round_step_off_by_a_factor_is_stopped_in_batched_trials(monkeypatch, batched):
    """η × 1.5 in the perturbation rounds only: the monitor stops the theorem runs that reach a
    round, batched or one by one, with the same status, steps and message ("round ..."); the
    correct runs are not stopped (test above)."""
    from byzpgd.experiments.batched import run_monitored_batch
    from byzpgd.experiments.monitor import run_monitored_single
    from byzpgd.properties.strategies import sample_specs

    original = engine.round_step
    monkeypatch.setattr(engine, "round_step", lambda G, eta, *a: 1.5 * original(G, eta, *a))
    specs = sample_specs("byzantine_pgd.lambda_min", 8, 1)
    recs = run_monitored_batch(specs) if batched else [run_monitored_single(s) for s in specs]
    stopped = [r for r in recs if r.stopped]
    assert stopped and all("perturbation round" in r.violation for r in stopped)
    if batched:
        assert [r.status for r in recs] == [run_monitored_single(s).status for s in specs]


def test_an_inner_status_from_an_event_ends_the_trial_through_the_monitor():
    """A status the wrapped oracle answers to an event ends the trial, through the one-run
    monitor (as StopRun) and the batched one (passed back to the engine); able to fail: a
    monitor that swallowed the answer would let the run go on."""
    from byzpgd.experiments.monitor import BatchedDescentMonitor

    class Inner:
        landscape = CosineSaddle([1.0, 1.0], [0.8], [0.8])

        def query(self, W, idx, single):
            return np.zeros_like(W), {}

        def notify(self, b, event, **data):
            return "inner_stop" if event == "escape" else None

    mon = BatchedDescentMonitor(Inner(), [1.0], [0.0])
    assert mon.notify(0, "candidate", w=np.zeros(3)) is None
    assert mon.notify(0, "escape", w=np.zeros(3)) == "inner_stop"

    land, oracle, w0 = _setup(5)

    class Stopping:
        def __init__(self, inner):
            self.inner, self.landscape, self.delta = inner, inner.landscape, inner.delta

        def __call__(self, w):
            return self.inner(w)

        def notify(self, event, **data):
            if event == "perturbation":
                raise pgd_module.StopRun("inner_stop")

    res = byzantine_pgd(DescentMonitor(Stopping(oracle), land.L, oracle.delta), w0, np.random.default_rng(0),
                        delta=0.1, factors={"c_r": 1, "c_R": 1, "c_T": 8, "c_Q": 8})
    assert res.status == "inner_stop"
