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

import importlib
import traceback
from dataclasses import dataclass

import numpy as np

from ..algorithms import StopRun, byzantine_pgd, exact_pgd
from ..algorithms.engine import batched_perturbed_gd, row_norms
from ..oracles.adversaries import make_adversary
from ..oracles.batched import BatchedCertifiedOracle, batch_adversaries, batch_landscapes
from ..oracles.inexact import CertifiedOracle, ExactOracle
from ..oracles.landscapes import CosineSaddle
from ..oracles.landscapes.rotation import random_rotation
from ..theory.certify import certify
from ..theory.parameters import CALIBRATED_FACTORS
from .budget import FAILURE_PROBABILITY, INSTANCE_SECONDS
from .loop import InstanceError
from .monitor import tell

DESCENT_CALLS = 4_000       # the first steps are what the descent claim looks at
ESCAPE_CALLS = 2_000_000     # default cap (the checks pass a cap from the theory)


class StepRecorder:
    """Passes every query of B batched trials to ``inner`` (a batched oracle) and records, per
    trial, its queries and answers in order and the query numbers reached by a perturbation
    (to know which consecutive queries are one gradient step). The trials run their rounds one
    at a time (``batch_rounds=False``), so every query is a single one, as in a one-run loop."""

    def __init__(self, inner, B: int):
        self.inner, self.landscape = inner, inner.landscape
        self._rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.count = np.zeros(B, dtype=np.int64)
        self.jumps: list[set[int]] = [set() for _ in range(B)]

    def query(self, W, idx, single):
        G, ended = self.inner.query(W, idx, single)
        live = ~np.isin(idx, np.fromiter(ended, dtype=np.int64)) if ended else slice(None)
        self._rows.append((W[live].copy(), np.array(G[live], dtype=np.float64), idx[live]))
        np.add.at(self.count, idx[live], 1)
        return G, ended

    def notify(self, b: int, event: str, **data):
        if event == "perturbation":
            self.jumps[b].add(int(self.count[b]))
        return tell(self.inner, b, event, data)

    def trials(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each trial's (queries, answers), in query order."""
        if not self._rows:
            return [(np.zeros((0, 0)), np.zeros((0, 0)))] * len(self.jumps)
        W, G, idx = (np.concatenate(x) for x in zip(*self._rows, strict=True))
        order = np.argsort(idx, kind="stable")
        cut = np.cumsum(np.bincount(idx, minlength=len(self.jumps)))[:-1]
        return list(zip(np.split(W[order], cut), np.split(G[order], cut), strict=True))


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


def descent_start(spec: dict, land: CosineSaddle) -> np.ndarray:
    """t·q_1 (the direction of curvature a_1 = L_F) plus a small random part."""
    y0 = np.random.default_rng(spec["start_seed"]).normal(scale=0.01, size=land.dim)
    y0[land.n_neg] = spec["start_t"]
    return land.rotation.apply(y0)


def theorem_params_of(spec: dict, land, w0, oracle):
    """The run's parameters, as ``exact_pgd`` / ``byzantine_pgd`` compute them from the instance
    (Theorem 2's proved variant; Theorem 1's formulas with the calibrated factors), the
    algorithms' ``theorem_params`` looked up at each call (so a parameter fault reaches these runs)."""
    gap = land.value(w0) - land.f_star
    if spec["family"] == "exact_pgd":
        if oracle.delta != 0:
            raise ValueError(f"exact_pgd needs an exact oracle (delta = 0), got delta = {oracle.delta}")
        return importlib.import_module("byzpgd.algorithms.exact_pgd").theorem_params(
            spec["epsilon"], land.L, land.rho, land.dim, FAILURE_PROBABILITY, gap)
    if not (oracle.delta > 0):
        raise ValueError(f"Delta (oracle.delta) must be > 0 for ByzantinePGD, got {oracle.delta}")
    return importlib.import_module("byzpgd.algorithms.byzantine_pgd").theorem_params(
        oracle.delta, land.L, land.rho, land.dim, FAILURE_PROBABILITY, gap, CALIBRATED_FACTORS)


class DescentRunError(RuntimeError):
    """A descent run that could not be built or that the engine ended with an error."""


def run_descent(spec: dict) -> Steps:
    """One descent run: :func:`run_descent_batch` with a batch of one (an error is raised)."""
    (out,) = run_descent_batch([spec])
    if isinstance(out, InstanceError):
        raise DescentRunError(out.error)
    return out


def run_descent_batch(specs: list[dict]) -> list[Steps | InstanceError]:
    """The descent runs of ``specs`` as batched trials (one engine, one row per trial; rounds one
    at a time, as a one-run loop makes them): per spec its :class:`Steps`, or the
    :class:`~.loop.InstanceError` of a spec that could not be built or whose trial the engine
    ended with an error. A trial's outcome does not depend on the batch it runs in."""
    out: list = [None] * len(specs)
    built = []
    for i, spec in enumerate(specs):
        try:
            land = descent_landscape(spec)
            w0 = descent_start(spec, land)
            oracle = _oracle(spec, land)
            built.append((i, land, w0, oracle, theorem_params_of(spec, land, w0, oracle)))
        except Exception as exc:
            out[i] = InstanceError(spec, f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=4))
    if not built:
        return out
    _, lands, starts, oracles, params = zip(*built, strict=True)
    blands = batch_landscapes(lands)
    rec = StepRecorder(BatchedCertifiedOracle(batch_adversaries([o.oracle for o in oracles], blands)),
                       len(built))
    res = batched_perturbed_gd(rec, blands.pad(starts), list(params),
                               [np.random.default_rng(specs[i]["run_seed"]) for i, *_ in built],
                               max_oracle_calls=DESCENT_CALLS, max_seconds=INSTANCE_SECONDS,
                               dims=blands.dims, batch_rounds=False)
    for j, ((i, land, *_), (P, G)) in enumerate(zip(built, rec.trials(), strict=True)):
        if res[j].status == "error":
            out[i] = InstanceError(specs[i], res.errors[j], "batched descent run (experiments/mechanism.py)")
            continue
        P, G = P[:, :land.dim], G[:, :land.dim]
        step = ~np.all(P[1:] == P[:-1], axis=1)        # query t to t + 1 moved ...
        step[[t - 1 for t in rec.jumps[j] if 0 < t < len(P)]] = False   # ... and was no perturbation
        k = np.flatnonzero(step)
        f = land.values(P) if len(P) else np.zeros(0)
        out[i] = Steps(f[k], f[k + 1], row_norms(G)[k], land.L, res[j].status)
    return out


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
    """Passes queries and events to ``oracle``; after the algorithm's first 'escape' event, its
    next query is the escaped iterate (the loop queries ĝ there next): the observer records that
    query's distance from ``centre`` and ends the run (StopRun('escaped')) before the oracle
    answers. The distance is measured on the loop's own query, never on the point the event
    reports. What follows the first escape from the saddle is not what the per-round escape
    claims look at, and the loop's round counter then holds the rounds started at the saddle."""

    def __init__(self, oracle, centre):
        self.oracle, self.landscape, self.delta = oracle, oracle.landscape, oracle.delta
        self.batchable = getattr(oracle, "batchable", False)
        self.centre = np.asarray(centre, dtype=np.float64)
        self.escape_distance = float("nan")
        self.pending = False

    def __call__(self, w):
        if self.pending:
            self.escape_distance = float(np.linalg.norm(np.asarray(w, dtype=np.float64) - self.centre))
            raise StopRun("escaped")
        return self.oracle(w)

    def notify(self, event, **data):
        self.oracle.notify(event, **data)
        if event == "escape":
            self.pending = True


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
