"""Runs for the mechanism claims (docs/paper.md §8.1, §8.3): one instance = one run of
ByzantinePGD (Theorem 1's formulas with the calibrated factors, at practical Δ) or of exact PGD,
from a spec. Returns what the checks observe; the bounds come from byzpgd.theory, never from
the run.

Specs (JSON-able):
- descent: {"family", "dim", "a", "gamma", "rho", "landscape_seed", "start_t", "start_seed",
  "Delta" (0 for exact), "epsilon" (exact family), "adversary", "run_seed"}. The landscape is a
  cosine saddle whose first positive direction has curvature a_1 = L_F = 1 (so one step along it
  tests the step size), started at t·q_1 plus a small random part.
- escape: {"family", "dim", "gamma", "s", "a_seed", "landscape_seed", "Delta", "epsilon",
  "adversary", "run_seed"}. The cosine saddle with curvature −γ, width s, started at the saddle;
  :func:`run_escape_rounds` observes its perturbation rounds up to the first escape,
  :func:`run_escape` the whole run up to a distance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..algorithms import StopRun, byzantine_pgd, exact_pgd
from ..oracles.adversaries import make_adversary
from ..oracles.inexact import CertifiedOracle, ExactOracle
from ..oracles.landscapes import CosineSaddle
from ..oracles.landscapes.rotation import random_rotation
from ..theory.certify import certify
from ..theory.parameters import CALIBRATED_FACTORS
from .budget import FAILURE_PROBABILITY, INSTANCE_SECONDS

DESCENT_CALLS = 4_000       # the first steps are what the descent claim looks at
ESCAPE_CALLS = 2_000_000     # default cap (the checks pass a cap from the theory)


class RecordingOracle:
    """Passes every query to ``oracle`` and records (w, ĝ) and the algorithm's perturbation
    events (to know which consecutive queries are one gradient step). Not batchable, so every
    query is seen one by one."""

    batchable = False

    def __init__(self, oracle):
        self.oracle, self.landscape, self.delta = oracle, oracle.landscape, oracle.delta
        self.points: list[np.ndarray] = []
        self.answers: list[np.ndarray] = []
        self.jumps: set[int] = set()          # query indices reached by a perturbation

    def __call__(self, w):
        g = self.oracle(w)
        self.points.append(np.array(w, dtype=np.float64))
        self.answers.append(np.array(g, dtype=np.float64))
        return g

    def notify(self, event, **data):
        if event == "perturbation":
            self.jumps.add(len(self.points))
        self.oracle.notify(event, **data)


def descent_landscape(spec: dict) -> CosineSaddle:
    rng = np.random.default_rng(spec["landscape_seed"])
    d = spec["dim"]
    a = np.asarray(spec["a"], dtype=np.float64)
    gamma = np.asarray([spec["gamma"]])
    return CosineSaddle(a, gamma, gamma / spec["rho"], random_rotation(d, rng))


def _oracle(spec, land):
    if spec["family"] == "exact_pgd":
        return CertifiedOracle(ExactOracle(land))
    return CertifiedOracle(make_adversary(spec["adversary"], land, spec["Delta"]))


def _run(spec, oracle, w0, *, calls):
    rng = np.random.default_rng(spec["run_seed"])
    if spec["family"] == "exact_pgd":
        return exact_pgd(oracle, w0, rng, epsilon=spec["epsilon"], delta=FAILURE_PROBABILITY,
                         max_oracle_calls=calls, max_seconds=INSTANCE_SECONDS)
    return byzantine_pgd(oracle, w0, rng, delta=FAILURE_PROBABILITY, factors=CALIBRATED_FACTORS,
                         max_oracle_calls=calls, max_seconds=INSTANCE_SECONDS)


@dataclass(frozen=True)
class Steps:
    """The gradient steps of one run: F before and after, ‖ĝ‖ at the start of each step."""

    f_before: np.ndarray
    f_after: np.ndarray
    g_norm: np.ndarray
    L: float
    status: str


def run_descent(spec: dict) -> Steps:
    land = descent_landscape(spec)
    y0 = np.random.default_rng(spec["start_seed"]).normal(scale=0.01, size=land.dim)
    y0[land.n_neg] = spec["start_t"]                    # the direction of curvature a_1 = L
    w0 = land.rotation.apply(y0)
    rec = RecordingOracle(_oracle(spec, land))
    res = _run(spec, rec, w0, calls=DESCENT_CALLS)
    k = [i for i in range(len(rec.points) - 1)
         if i + 1 not in rec.jumps and not np.array_equal(rec.points[i], rec.points[i + 1])]
    f = np.array([land.value(p) for p in rec.points])
    g = np.array([np.linalg.norm(a) for a in rec.answers])
    idx = np.asarray(k, dtype=np.int64)
    return Steps(f[idx], f[idx + 1], g[idx], land.L, res.status)


def escape_landscape(spec: dict) -> CosineSaddle:
    rng = np.random.default_rng(spec["landscape_seed"])
    d = spec["dim"]
    a = np.random.default_rng(spec["a_seed"]).uniform(0.3, 1.0, size=d - 1)
    a[0] = 1.0                                           # L_F = 1 (γ < 1)
    return CosineSaddle(a, [spec["gamma"]], [spec["s"]], random_rotation(d, rng))


@dataclass(frozen=True)
class EscapeRun:
    """λ_min at the run's last point, its distance from the saddle, the run's status."""

    lambda_min: float
    distance: float
    status: str
    oracle_calls: int


class LeaveObserver:
    """Passes queries to ``oracle``; ends the run (StopRun('left_region')) at the first query
    at distance >= ``radius`` from ``centre``: the run has left the saddle for good, and the
    rest of it (descending to a minimum) is not what the escape claims look at."""

    def __init__(self, oracle, centre, radius):
        self.oracle, self.landscape, self.delta = oracle, oracle.landscape, oracle.delta
        self.batchable = getattr(oracle, "batchable", False)
        self.centre, self.radius = np.asarray(centre, dtype=np.float64), float(radius)

    def __call__(self, w):
        if np.max(np.linalg.norm(np.asarray(w) - self.centre, axis=-1)) >= self.radius:
            raise StopRun("left_region")
        return self.oracle(w)

    def notify(self, event, **data):
        self.oracle.notify(event, **data)


def run_escape(spec: dict, stop_distance: float, max_calls: int = ESCAPE_CALLS) -> EscapeRun:
    """Run from the saddle c (= 0) until it returns, reaches distance ``stop_distance`` from c
    (status 'left_region'), or uses ``max_calls`` oracle calls."""
    land = escape_landscape(spec)
    c = np.zeros(land.dim)
    res = _run(spec, LeaveObserver(_oracle(spec, land), c, stop_distance), c, calls=max_calls)
    cert = certify(land, res.w)
    return EscapeRun(float(cert.lambda_min), float(np.linalg.norm(res.w - c)), res.status,
                     int(res.grad_oracle_calls))


class FirstEscapeObserver:
    """Passes queries and events to ``oracle``; at the algorithm's first 'escape' event it records
    the distance of the escaped point from ``centre`` and ends the run (StopRun('escaped')): what
    follows the first escape from the saddle is not what the per-round escape claims look at, and
    the loop's round counter then holds the rounds started at the saddle."""

    def __init__(self, oracle, centre):
        self.oracle, self.landscape, self.delta = oracle, oracle.landscape, oracle.delta
        self.batchable = getattr(oracle, "batchable", False)
        self.centre = np.asarray(centre, dtype=np.float64)
        self.escape_distance = float("nan")

    def __call__(self, w):
        return self.oracle(w)

    def notify(self, event, **data):
        self.oracle.notify(event, **data)
        if event == "escape":
            self.escape_distance = float(np.linalg.norm(np.asarray(data["w"]) - self.centre))
            raise StopRun("escaped")


@dataclass(frozen=True)
class EscapeRounds:
    """The perturbation rounds of a run started at the saddle, up to its first escape: rounds
    started (the last one escaped when ``escaped``), the distance of the escaped point from the
    saddle (NaN without escape), the run's status ('escaped', 'converged' = returned after its
    rounds all failed, or a budget / non-finite status: no output) and its oracle calls."""

    rounds: int
    escaped: bool
    escape_distance: float
    status: str
    oracle_calls: int


def run_escape_rounds(spec: dict, max_calls: int = ESCAPE_CALLS) -> EscapeRounds:
    """Run from the saddle c (= 0) until its first escape (or its return, or a budget)."""
    land = escape_landscape(spec)
    observer = FirstEscapeObserver(_oracle(spec, land), np.zeros(land.dim))
    res = _run(spec, observer, np.zeros(land.dim), calls=max_calls)
    escaped = res.status == "escaped"
    return EscapeRounds(int(res.escape_rounds), escaped,
                        observer.escape_distance if escaped else float("nan"), res.status,
                        int(res.grad_oracle_calls))


class CountingOracle:
    """Counts the queries (a (k, d) batch counts k) outside the algorithm under test, and measures
    how far each perturbation round starts from its candidate, from the queries themselves: the
    candidate is the last single query before a 'perturbation' event, a round's start the first
    query after it (one point, or one row per round of a (Q, d) batch). Only the event's timing
    is used, never its reported ξ."""

    def __init__(self, oracle):
        self.oracle, self.landscape, self.delta = oracle, oracle.landscape, oracle.delta
        self.batchable = getattr(oracle, "batchable", False)
        self.calls = 0
        self.starts = 0                  # perturbation rounds whose start was seen
        self.max_start_distance = 0.0    # max ‖w̃ + ξ − w̃‖ over them
        self.candidate_norm = 0.0        # max ‖w̃‖ (the rounding scale of those distances)
        self._last_single: np.ndarray | None = None
        self._candidate: np.ndarray | None = None
        self._pending = False

    def __call__(self, w):
        batch = np.ndim(w) != 1
        self.calls += np.shape(w)[0] if batch else 1
        if self._pending and self._candidate is not None:
            rows = np.array(w, dtype=np.float64, ndmin=2) - self._candidate
            self.starts += rows.shape[0]
            self.max_start_distance = max(self.max_start_distance,
                                          float(np.max(np.linalg.norm(rows, axis=1))))
        self._pending = False
        if not batch:
            self._last_single = np.array(w, dtype=np.float64)
        return self.oracle(w)

    def notify(self, event, **data):
        if event == "perturbation":
            if not self._pending and self._candidate is None:
                self._candidate = self._last_single
                if self._candidate is not None:
                    self.candidate_norm = max(self.candidate_norm, float(np.linalg.norm(self._candidate)))
            self._pending = True
        elif event == "escape":
            self._candidate = None       # the next perturbation follows a new candidate
        self.oracle.notify(event, **data)


def candidate_landscape(spec: dict) -> CosineSaddle:
    return CosineSaddle.random(spec["dim"], np.random.default_rng(spec["landscape_seed"]),
                               L=1.0, rho=spec["rho"])


@dataclass(frozen=True)
class CandidateRun:
    """Oracle calls counted outside the algorithm, how far the output is from the start, the
    run's status, and the smallest curvature at the start (a certified minimum)."""

    calls: int
    moved: float
    status: str
    min_curvature: float
    starts: int = 0                   # perturbation rounds whose start point was seen
    max_start_distance: float = 0.0   # max over them of ‖start − candidate‖ (ξ's norm)
    candidate_norm: float = 0.0       # max ‖candidate‖: the rounding scale of that distance


def run_candidate(spec: dict, max_calls: int) -> CandidateRun:
    land = candidate_landscape(spec)
    w0 = land.critical_points()[1].point                  # the global minimum
    counter = CountingOracle(_oracle(spec, land))
    rng = np.random.default_rng(spec["run_seed"])
    kw = dict(delta=FAILURE_PROBABILITY, f_gap=spec["f_gap"], max_oracle_calls=max_calls,
              max_seconds=INSTANCE_SECONDS)
    if spec["family"] == "exact_pgd":
        res = exact_pgd(counter, w0, rng, epsilon=spec["epsilon"], **kw)
    else:
        factors = CALIBRATED_FACTORS if spec["factors"] == "calibrated" else None
        res = byzantine_pgd(counter, w0, rng, factors=factors, **kw)
    return CandidateRun(counter.calls, float(np.linalg.norm(res.w - w0)), res.status,
                        float(np.min(land.hess_diag(w0))), counter.starts,
                        counter.max_start_distance, counter.candidate_norm)
